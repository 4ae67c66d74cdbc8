//! `GET /oauth2/authorize` and its consent form (`POST`, CSRF-protected like every page form).
//! The way back to the client is a page that refreshes to it rather than a 303: after the
//! sign-in or consent form, a redirect to another origin would be refused by the pages' CSP
//! (`form-action 'self'` applies to a form's redirects too).

use crate::application::oauth2::{
    AuthorizationRequest, Authorize, AuthorizeOutcome, Consent, SignedIn,
};
use crate::http::ApiState;
use crate::pages::render::{Chrome, PageError, page, page_with, redirect};
use crate::pages::session::Visitor;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "pages/consent.html")]
struct ConsentPage {
    c: Chrome,
    title: &'static str,
    client_name: String,
    scopes: Vec<String>,
    /// The request, carried through the form.
    fields: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "pages/continue.html")]
struct ContinuePage {
    c: Chrome,
    title: &'static str,
    to: String,
}

#[derive(Template)]
#[template(path = "pages/message.html")]
struct RefusedPage {
    c: Chrome,
    title: &'static str,
    message: String,
    link: (&'static str, &'static str),
}

fn described(scope: &str) -> String {
    match scope {
        "openid" => "Know which account is yours".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Stay connected while you are away".into(),
        other => format!("Use “{other}”"),
    }
}

fn fields(r: &AuthorizationRequest) -> Vec<(&'static str, String)> {
    [
        ("client_id", &r.client_id),
        ("redirect_uri", &r.redirect_uri),
        ("response_type", &r.response_type),
        ("scope", &r.scope),
        ("state", &r.state),
        ("nonce", &r.nonce),
        ("code_challenge", &r.code_challenge),
        ("code_challenge_method", &r.code_challenge_method),
        ("prompt", &r.prompt),
        ("max_age", &r.max_age),
        ("login_hint", &r.login_hint),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
    .collect()
}

/// The authorization URL to come back to after signing in (again): without `prompt` and
/// `max_age`, which the new sign-in has just satisfied.
fn after_sign_in(r: &AuthorizationRequest) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields(r) {
        if name != "prompt" && name != "max_age" {
            url.append_pair(name, &value);
        }
    }
    format!("{}?{}", super::AUTHORIZE, url.finish())
}

async fn answer(
    state: &ApiState,
    mut visitor: Visitor,
    request: AuthorizationRequest,
    consent: Option<Consent>,
) -> Result<HttpResponse, PageError> {
    let user = match (&visitor.principal, visitor.signed_in_at()) {
        (Some(p), Some(auth_time)) => Some(SignedIn {
            principal: p.clone(),
            auth_time,
        }),
        _ => None,
    };
    let outcome = state
        .oauth2
        .authorize
        .ask(Authorize {
            request: request.clone(),
            user,
            consent,
        })
        .await?
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    let c = Chrome::of(&visitor);
    match outcome {
        AuthorizeOutcome::Redirect(to) => page(
            &visitor,
            &ContinuePage {
                c,
                title: "Signed in",
                to,
            },
        ),
        AuthorizeOutcome::Refused(message) => page_with(
            &visitor,
            StatusCode::BAD_REQUEST,
            &RefusedPage {
                c,
                title: "This sign-in cannot go on",
                message,
                link: ("/", "Go to your account"),
            },
        ),
        AuthorizeOutcome::Consent {
            client_name,
            scopes,
        } => {
            let scopes = scopes.iter().map(|s| described(s)).collect();
            let fields = fields(&request);
            page(
                &visitor,
                &ConsentPage {
                    c,
                    title: "Allow access?",
                    client_name,
                    scopes,
                    fields,
                },
            )
        }
        AuthorizeOutcome::SignIn { fresh, login_hint } => {
            if fresh {
                // A new sign-in was asked for: this one ends (not only in this browser).
                visitor.end(state).await?;
            }
            let mut to = url::form_urlencoded::Serializer::for_suffix(String::from("/login?"), 7);
            to.append_pair("next", &after_sign_in(&request));
            if let Some(hint) = login_hint {
                to.append_pair("login_hint", &hint);
            }
            Ok(redirect(&visitor, &to.finish()))
        }
    }
}

pub async fn authorize(
    state: web::Data<ApiState>,
    visitor: Visitor,
    query: web::Query<AuthorizationRequest>,
) -> Result<HttpResponse, PageError> {
    answer(&state, visitor, query.into_inner(), None).await
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(flatten)]
    request: AuthorizationRequest,
}

pub async fn consent(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let ConsentForm {
        csrf,
        decision,
        request,
    } = form.into_inner();
    visitor.check_form(&req, &csrf)?;
    let decision = match decision.as_str() {
        "allow" => Consent::Allow,
        _ => Consent::Deny,
    };
    answer(&state, visitor, request, Some(decision)).await
}
