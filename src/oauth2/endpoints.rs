//! The endpoints relying parties and resource servers call: token (RFC 6749 §3.2), userinfo
//! (OIDC Core §5.3), revocation (RFC 7009), introspection (RFC 7662), and the browser's logout
//! (RP-Initiated Logout 1.0). Bodies are form-encoded and read here, so that a malformed one is
//! answered as OAuth says (`invalid_request` in JSON), not as a page.

use super::cors::{allowed_origin, with_cors};
use crate::application::client_info::ClientInfo;
use crate::application::oauth2::{
    ClientAuth, EndSession, Introspect, OAuthError, Revoke, Token, TokenRequest, UserInfo,
};
use crate::http::ApiState;
use crate::http::routes::auth::{client_address, user_agent};
use crate::pages::render::{PageError, redirect};
use crate::pages::session::Visitor;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde::Deserialize;
use std::collections::HashMap;

/// The form's fields; a repeated one is refused (RFC 6749 §3.2).
fn form(req: &HttpRequest, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let bad = |why: &str| OAuthError::new("invalid_request", why);
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(bad("the body must be application/x-www-form-urlencoded"));
    }
    let mut fields = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if fields.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(bad("a parameter is repeated"));
        }
    }
    Ok(fields)
}

/// HTTP Basic client authentication: both parts are form-encoded (RFC 6749 §2.3.1).
fn basic(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::new("invalid_client", "a malformed Authorization header");
    let value = value.to_str().map_err(|_| bad())?;
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return Err(bad());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Ok(Some((
        unescape(id).ok_or_else(bad)?,
        unescape(secret).ok_or_else(bad)?,
    )))
}

fn client_auth(
    req: &HttpRequest,
    fields: &mut HashMap<String, String>,
) -> Result<ClientAuth, OAuthError> {
    Ok(ClientAuth {
        basic: basic(req)?,
        client_id: fields.remove("client_id"),
        client_secret: fields.remove("client_secret"),
    })
}

/// RFC 6749 §5.2: JSON, never cached; a failed client authentication is a 401.
fn error(e: &OAuthError, basic_used: bool) -> HttpResponse {
    let status = match e.error {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED && basic_used {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"hexactor\""));
    }
    no_store(&mut response)
        .json(serde_json::json!({ "error": e.error, "error_description": e.description }))
}

fn no_store(r: &mut actix_web::HttpResponseBuilder) -> &mut actix_web::HttpResponseBuilder {
    r.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
}

fn reply<T: serde::Serialize>(
    result: Result<Result<T, OAuthError>, actix::MailboxError>,
    req: &HttpRequest,
) -> HttpResponse {
    match result.map_err(OAuthError::from).and_then(|r| r) {
        Ok(body) => no_store(&mut HttpResponse::Ok()).json(body),
        Err(e) => error(&e, req.headers().contains_key(header::AUTHORIZATION)),
    }
}

pub async fn token(state: web::Data<ApiState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let origin = allowed_origin(&state, &req).await;
    with_cors(token_answer(&state, &req, &body).await, origin)
}

async fn token_answer(state: &ApiState, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let mut fields = match form(req, body) {
        Ok(f) => f,
        Err(e) => return error(&e, false),
    };
    let auth = match client_auth(req, &mut fields) {
        Ok(a) => a,
        Err(e) => return error(&e, true),
    };
    let mut take = |name: &str| fields.remove(name);
    let request = TokenRequest {
        grant_type: take("grant_type"),
        code: take("code"),
        redirect_uri: take("redirect_uri"),
        code_verifier: take("code_verifier"),
        refresh_token: take("refresh_token"),
        scope: take("scope"),
        auth,
        client: ClientInfo::new(user_agent(req).as_deref(), client_address(req)),
    };
    reply(state.oauth2.token.ask(Token(request)).await, req)
}

/// RFC 6750 §3: a bearer error says itself in `WWW-Authenticate`.
fn bearer_error(e: &OAuthError) -> HttpResponse {
    let status = match e.error {
        "insufficient_scope" => StatusCode::FORBIDDEN,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "invalid_request" => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    };
    let challenge = format!(
        "Bearer error=\"{}\", error_description=\"{}\"",
        e.error,
        e.description.replace('"', "'")
    );
    no_store(&mut HttpResponse::build(status))
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .json(serde_json::json!({ "error": e.error, "error_description": e.description }))
}

pub async fn userinfo(state: web::Data<ApiState>, req: HttpRequest) -> HttpResponse {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let Some(access_token) = token else {
        return bearer_error(&OAuthError::new(
            "invalid_token",
            "send the access token as Authorization: Bearer",
        ));
    };
    match state
        .oauth2
        .userinfo
        .ask(UserInfo { access_token })
        .await
        .map_err(OAuthError::from)
        .and_then(|r| r)
    {
        Ok(claims) => no_store(&mut HttpResponse::Ok()).json(claims),
        Err(e) => bearer_error(&e),
    }
}

/// The `token` field and the client's authentication, for revocation and introspection.
fn token_form(req: &HttpRequest, body: &[u8]) -> Result<(ClientAuth, String), OAuthError> {
    let mut fields = form(req, body)?;
    let auth = client_auth(req, &mut fields)?;
    let token = fields
        .remove("token")
        .ok_or_else(|| OAuthError::new("invalid_request", "token is missing"))?;
    Ok((auth, token))
}

pub async fn revoke(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let origin = allowed_origin(&state, &req).await;
    let basic_used = req.headers().contains_key(header::AUTHORIZATION);
    let response = match token_form(&req, &body) {
        Ok((auth, token)) => match state.oauth2.revoke.ask(Revoke { auth, token }).await {
            Ok(Ok(())) => no_store(&mut HttpResponse::Ok()).finish(),
            Ok(Err(e)) => error(&e, basic_used),
            Err(e) => error(&OAuthError::from(e), basic_used),
        },
        Err(e) => error(&e, basic_used),
    };
    with_cors(response, origin)
}

pub async fn introspect(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (auth, token) = match token_form(&req, &body) {
        Ok(parts) => parts,
        Err(e) => return error(&e, req.headers().contains_key(header::AUTHORIZATION)),
    };
    reply(
        state
            .oauth2
            .introspect
            .ask(Introspect { auth, token })
            .await,
        &req,
    )
}

#[derive(Deserialize)]
pub struct LogoutQuery {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// Ends the browser session and every grant issued in it, then goes back to the client (when it
/// named a registered address) or to the sign-in page.
pub async fn logout(
    state: web::Data<ApiState>,
    mut visitor: Visitor,
    query: web::Query<LogoutQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let ended = state
        .oauth2
        .end_session
        .ask(EndSession {
            id_token_hint: q.id_token_hint,
            client_id: q.client_id,
            post_logout_redirect_uri: q.post_logout_redirect_uri,
            state: q.state,
            principal: visitor.principal.clone(),
        })
        .await?;
    let to = match ended {
        Ok(to) => to,
        Err(e) if e.error == "temporarily_unavailable" => {
            return Err(PageError::Unavailable(e.to_string()));
        }
        Err(e) => return Err(PageError::BadForm(e.description)),
    };
    visitor.sign_out();
    Ok(redirect(
        &visitor,
        to.as_deref().unwrap_or("/login?done=signed-out"),
    ))
}
