//! `/api/v1/auth/*`: login, refresh-token rotation, logout, token verification.

use super::ApiState;
use crate::application::auth::{Login, LoginOutcome, Logout, Refresh};
use crate::application::client_info::ClientInfo;
use crate::http::auth::Authenticated;
use crate::http::client_address::ClientAddress;
use crate::http::dto::{LoginRequest, Problem, RefreshRequest, TokenResponse};
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

async fn end_sessions(
    state: &ApiState,
    who: Authenticated,
    everywhere: bool,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .logout
        .ask(Logout {
            principal: who.0,
            everywhere,
        })
        .await??;
    Ok(HttpResponse::NoContent().finish())
}

/// The client address as this service determines it: the TCP peer or, behind a proxy listed in
/// TRUSTED_PROXIES, the address it forwarded for (see `http::client_address`). Failed-login
/// throttling, sessions and the rate limit all use this one.
pub fn client_address(req: &HttpRequest) -> Option<String> {
    ClientAddress::from_request(req).map(|c| c.0.to_string())
}

pub fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// One answer for unknown email, wrong password and inactive account.
const INVALID_CREDENTIALS: &str = "invalid email or password";

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Invalid email or password (same answer for every cause)", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "REQUIRE_VERIFIED_EMAIL and the address is not verified (type /problems/email-not-verified; only after a correct password)", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many failures; see Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn login(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let client_address = client_address(&req).unwrap_or_else(|| "unknown".into());
    match state
        .auth
        .login
        .ask(Login {
            email,
            password,
            client_address,
            user_agent: user_agent(&req),
        })
        .await??
    {
        LoginOutcome::Success(pair) => Ok(HttpResponse::Ok().json(TokenResponse::from(&pair))),
        LoginOutcome::InvalidCredentials => Err(ApiError::Unauthorized(INVALID_CREDENTIALS)),
        LoginOutcome::Locked { retry_after } => Err(ApiError::TooManyRequests { retry_after }),
        LoginOutcome::MfaRequired { mfa_token } => Err(ApiError::MfaRequired { mfa_token }),
        LoginOutcome::EmailNotVerified => Err(ApiError::EmailNotVerified),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "A new pair; the old refresh token is spent", body = TokenResponse), (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 400, description = "No body: send `{\"refresh_token\": …}` (an access token cannot refresh)", body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: Result<web::Json<RefreshRequest>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let body = match body {
        Ok(body) => body,
        // Clients of the model service refresh with their access token as bearer and no body.
        Err(_) if has_no_body(&req) => {
            return Err(ApiError::BadRequest(NO_REFRESH_TOKEN.into()).into());
        }
        Err(e) => return Err(e),
    };
    let refreshed = state
        .auth
        .refresh
        .ask(Refresh {
            refresh_token: body.into_inner().refresh_token,
            client: ClientInfo::new(user_agent(&req).as_deref(), client_address(&req)),
        })
        .await
        .map_err(ApiError::from)?
        .map_err(ApiError::from)?;
    match refreshed {
        Some(pair) => Ok(HttpResponse::Ok().json(TokenResponse::from(&pair))),
        None => Err(ApiError::Unauthorized(
            "the refresh token is invalid, expired or already used",
        )
        .into()),
    }
}

const NO_REFRESH_TOKEN: &str = "send the refresh token from your login as JSON: \
    {\"refresh_token\": \"<refresh token>\"} with content-type application/json; \
    an access token (Authorization: Bearer) cannot be used to refresh";

fn has_no_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim() == "0")
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204, description = "This session ended"), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json")))]
pub async fn logout(
    state: web::Data<ApiState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    end_sessions(&state, who, false).await
}

#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Every session ended"), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json")))]
pub async fn logout_all(
    state: web::Data<ApiState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    end_sessions(&state, who, true).await
}

#[utoipa::path(method(post, get), path = "/api/v1/auth/verify", tag = "auth", security(("bearer" = [])), responses((status = 200, description = "{valid, user_id, email, role}"), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json")))]
pub async fn verify(who: Authenticated) -> HttpResponse {
    let p = who.0;
    HttpResponse::Ok().json(serde_json::json!({ "valid": true, "user_id": p.user_id, "email": p.email, "role": p.role.as_str() }))
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", responses((status = 200, description = "Public keys (EdDSA deployments; empty for HS256)")))]
pub async fn jwks(state: web::Data<crate::http::auth::AuthState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(state.tokens.jwks())
}
