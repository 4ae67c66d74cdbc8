//! `/`, `/login` (password, then a code when two-factor authentication is on) and `/logout`:
//! the same `Login`, `LoginMfa` and `Logout` messages as `/api/v1/auth/*`.

use super::render::{Chrome, PageError, local_path, page, page_with, redirect};
use super::session::Visitor;
use crate::application::auth::{Login, LoginOutcome};
use crate::application::mfa_login::LoginMfa;
use crate::http::ApiState;
use crate::http::routes::auth::{client_address, user_agent};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub async fn home(visitor: Visitor) -> HttpResponse {
    let to = if visitor.principal.is_some() {
        "/account"
    } else {
        "/login"
    };
    redirect(&visitor, to)
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    c: Chrome,
    title: &'static str,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/login_code.html")]
struct CodePage {
    c: Chrome,
    title: &'static str,
    mfa_token: String,
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// A notice key from the page that sent the browser here (`reset`, `verified`, ...).
    done: Option<String>,
    /// The address an OpenID Connect client expects (`login_hint`), filled in.
    login_hint: Option<String>,
}

fn notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "reset" => "Your password has been changed. Sign in with the new one.",
            "signed-out" => "You have signed out.",
            "expired" => "Your session has ended. Sign in again.",
            "deactivated" => "Your account has been deactivated.",
            "reverted" => "The email change was undone and every session ended. Sign in again.",
            _ => return None,
        }
        .to_owned(),
    )
}

pub async fn login_page(
    visitor: Visitor,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = local_path(query.next.as_deref());
    if visitor.principal.is_some() {
        return Ok(redirect(&visitor, next.as_deref().unwrap_or("/account")));
    }
    page(
        &visitor,
        &LoginPage {
            c: Chrome::of(&visitor),
            title: "Sign in",
            email: query.login_hint.clone().unwrap_or_default(),
            next: next.unwrap_or_default(),
            error: None,
            notice: notice(query.done.as_deref()),
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    mfa_token: String,
    code: String,
    #[serde(default)]
    next: String,
}

/// The client address (as the REST login determines it) and user agent.
fn client(req: &HttpRequest) -> (String, Option<String>) {
    let address = client_address(req).unwrap_or_else(|| "unknown".into());
    (address, user_agent(req))
}

/// The page for an outcome of either step; `email` refills the form after a failure.
fn answer(
    mut visitor: Visitor,
    outcome: LoginOutcome,
    email: String,
    next: String,
) -> Result<HttpResponse, PageError> {
    let failed = |visitor: &Visitor, status, error: String| {
        let c = Chrome::of(visitor);
        page_with(
            visitor,
            status,
            &LoginPage {
                c,
                title: "Sign in",
                email: email.clone(),
                next: next.clone(),
                error: Some(error),
                notice: None,
            },
        )
    };
    match outcome {
        LoginOutcome::Success(pair) => {
            visitor.sign_in(pair.principal);
            let to = local_path(Some(&next)).unwrap_or_else(|| "/account".into());
            Ok(redirect(&visitor, &to))
        }
        LoginOutcome::InvalidCredentials => failed(
            &visitor,
            StatusCode::UNAUTHORIZED,
            "The email, password or code is not right.".into(),
        ),
        LoginOutcome::Locked { retry_after } => failed(
            &visitor,
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed attempts. Try again in {} seconds.",
                retry_after.as_secs().max(1)
            ),
        ),
        LoginOutcome::EmailNotVerified => failed(
            &visitor,
            StatusCode::FORBIDDEN,
            "Verify your email address first: follow the link in the message we sent you.".into(),
        ),
        LoginOutcome::MfaRequired { mfa_token } => {
            let c = Chrome::of(&visitor);
            page(
                &visitor,
                &CodePage {
                    c,
                    title: "Two-factor authentication",
                    mfa_token,
                    next,
                },
            )
        }
    }
}

pub async fn login(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let LoginForm {
        csrf,
        email,
        password,
        next,
    } = form.into_inner();
    visitor.check_form(&req, &csrf)?;
    let (client_address, user_agent) = client(&req);
    let outcome = state
        .auth
        .login
        .ask(Login {
            email: email.clone(),
            password,
            client_address,
            user_agent,
        })
        .await??;
    answer(visitor, outcome, email, next)
}

pub async fn login_code(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let CodeForm {
        csrf,
        mfa_token,
        code,
        next,
    } = form.into_inner();
    visitor.check_form(&req, &csrf)?;
    let (client_address, user_agent) = client(&req);
    let outcome = state
        .mfa
        .login
        .ask(LoginMfa {
            mfa_token,
            code: code.trim().to_owned(),
            client_address,
            user_agent,
        })
        .await??;
    answer(visitor, outcome, String::new(), next)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    state: web::Data<ApiState>,
    mut visitor: Visitor,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    visitor.check_form(&req, &form.csrf)?;
    visitor.end(&state).await?;
    Ok(redirect(&visitor, "/login?done=signed-out"))
}
