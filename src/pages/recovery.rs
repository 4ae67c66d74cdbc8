//! The pages the mailed links open — `/verify-email`, `/reset-password`,
//! `/confirm-email-change`, `/revert-email-change` — and `/forgot-password`.
//!
//! A link opens a page with a button; only the button's POST spends the token, so that mail
//! scanners that fetch every link cannot. Each POST is the REST route's use case.

use super::forms::{Fields, Outcome, outcome, refusal};
use super::render::{Chrome, PageError, page, page_with, redirect};
use super::session::Visitor;
use crate::application::ports::Submission;
use crate::application::recovery::{
    ConfirmPasswordReset, RecoveryError, RequestPasswordReset, VerifyEmail,
};
use crate::http::ApiState;
use crate::http::problem::ApiError;
use crate::http::routes::request::origin;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

/// A page with one button that spends the token of a mailed link (and, for a reset, a field).
#[derive(Template)]
#[template(path = "pages/token_action.html")]
struct TokenPage {
    c: Chrome,
    title: &'static str,
    explanation: &'static str,
    action: &'static str,
    button: &'static str,
    token: String,
    /// The reset page's "New password".
    password_field: bool,
    errors: Fields,
}

/// The end of a flow: what happened, and where to go next.
#[derive(Template)]
#[template(path = "pages/message.html")]
pub(super) struct MessagePage {
    pub c: Chrome,
    pub title: &'static str,
    pub message: String,
    pub link: (&'static str, &'static str),
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
    pub token: String,
    #[serde(default)]
    new_password: String,
}

pub(super) fn message(
    visitor: &Visitor,
    status: StatusCode,
    title: &'static str,
    message: &str,
    link: (&'static str, &'static str),
) -> Result<HttpResponse, PageError> {
    let c = Chrome::of(visitor);
    page_with(
        visitor,
        status,
        &MessagePage {
            c,
            title,
            message: message.to_owned(),
            link,
        },
    )
}

pub(super) fn invalid_link(visitor: &Visitor) -> Result<HttpResponse, PageError> {
    message(
        visitor,
        StatusCode::BAD_REQUEST,
        "This link does not work",
        "The link is invalid, has expired or was already used. Ask for a new one.",
        ("/", "Go to the start page"),
    )
}

fn token_page(
    visitor: &Visitor,
    which: &TokenAction,
    token: String,
    errors: Fields,
) -> Result<HttpResponse, PageError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let c = Chrome::of(visitor);
    page_with(
        visitor,
        status,
        &TokenPage {
            c,
            title: which.title,
            explanation: which.explanation,
            action: which.action,
            button: which.button,
            token,
            password_field: which.action == "/reset-password",
            errors,
        },
    )
}

pub(super) struct TokenAction {
    pub title: &'static str,
    pub explanation: &'static str,
    pub action: &'static str,
    pub button: &'static str,
}

const VERIFY: TokenAction = TokenAction {
    title: "Verify your email address",
    explanation: "Confirm that this address is yours.",
    action: "/verify-email",
    button: "Verify my email",
};
const RESET: TokenAction = TokenAction {
    title: "Choose a new password",
    explanation: "Every session of your account will end; sign in again with the new password.",
    action: "/reset-password",
    button: "Set new password",
};
pub(super) async fn show(
    visitor: Visitor,
    query: web::Query<TokenQuery>,
    which: &TokenAction,
) -> Result<HttpResponse, PageError> {
    if query.token.is_empty() {
        return invalid_link(&visitor);
    }
    token_page(&visitor, which, query.into_inner().token, Fields::default())
}

pub async fn verify_email_page(
    v: Visitor,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    show(v, q, &VERIFY).await
}
pub async fn reset_password_page(
    v: Visitor,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    show(v, q, &RESET).await
}
pub(super) async fn finish(
    state: &ApiState,
    visitor: &Visitor,
    req: &HttpRequest,
    submission: Submission,
    done: (&'static str, &'static str),
) -> Result<HttpResponse, PageError> {
    match outcome(state, req, submission).await? {
        Outcome::Done => message(visitor, StatusCode::OK, done.0, done.1, ("/", "Continue")),
        Outcome::Pending => message(
            visitor,
            StatusCode::ACCEPTED,
            done.0,
            "We are applying it; it takes effect in a moment.",
            ("/", "Continue"),
        ),
        Outcome::InvalidToken => invalid_link(visitor),
        Outcome::Refused(code) => message(
            visitor,
            StatusCode::CONFLICT,
            "This could not be done",
            refusal(code).1,
            ("/", "Go to the start page"),
        ),
    }
}

fn recovery_error(e: RecoveryError) -> Result<Submission, PageError> {
    Err(ApiError::from(e).into())
}

pub async fn verify_email(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    visitor.check_form(&req, &form.csrf)?;
    let TokenForm { token, .. } = form.into_inner();
    let submission = match state
        .recovery
        .verify_email
        .ask(VerifyEmail {
            token,
            origin: origin(&state, &req),
        })
        .await?
    {
        Ok(s) => s,
        Err(RecoveryError::InvalidToken) => return invalid_link(&visitor),
        Err(e) => recovery_error(e)?,
    };
    finish(
        &state,
        &visitor,
        &req,
        submission,
        (
            "Email address verified",
            "Thank you: your email address is verified.",
        ),
    )
    .await
}

pub async fn reset_password(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    visitor.check_form(&req, &form.csrf)?;
    let TokenForm {
        token,
        new_password,
        ..
    } = form.into_inner();
    let asked = state.recovery.confirm_reset.ask(ConfirmPasswordReset {
        token: token.clone(),
        new_password,
        origin: origin(&state, &req),
    });
    let submission = match asked.await? {
        Ok(s) => s,
        Err(RecoveryError::InvalidToken) => return invalid_link(&visitor),
        Err(RecoveryError::BreachedPassword) => {
            let fields = Fields::one("new_password", super::forms::BREACHED);
            return token_page(&visitor, &RESET, token, fields);
        }
        Err(RecoveryError::Invalid(errors)) => {
            let mut fields = Fields::from(errors);
            if fields.get("new_password").is_none() {
                fields = Fields::one(
                    "new_password",
                    fields
                        .get("password")
                        .unwrap_or("This password cannot be used.")
                        .to_owned(),
                );
            }
            return token_page(&visitor, &RESET, token, fields);
        }
        Err(e) => recovery_error(e)?,
    };
    match outcome(&state, &req, submission).await? {
        Outcome::Done => Ok(redirect(&visitor, "/login?done=reset")),
        Outcome::InvalidToken => invalid_link(&visitor),
        _ => message(
            &visitor,
            StatusCode::ACCEPTED,
            "Password change on its way",
            "Your new password takes effect in a moment.",
            ("/login", "Sign in"),
        ),
    }
}

#[derive(Template)]
#[template(path = "pages/forgot_password.html")]
struct ForgotPage {
    c: Chrome,
    title: &'static str,
    sent: bool,
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    email: String,
}

pub async fn forgot_password_page(visitor: Visitor) -> Result<HttpResponse, PageError> {
    let c = Chrome::of(&visitor);
    page(
        &visitor,
        &ForgotPage {
            c,
            title: "Reset your password",
            sent: false,
        },
    )
}

/// The same answer for every address, as `POST /api/v1/auth/password-reset`.
pub async fn forgot_password(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    visitor.check_form(&req, &form.csrf)?;
    let asked = state.recovery.request_reset.ask(RequestPasswordReset {
        email: form.into_inner().email,
        origin: origin(&state, &req),
    });
    match asked.await? {
        // A malformed address gets the same page: the answer never depends on the input.
        Ok(()) | Err(RecoveryError::Invalid(_)) => {}
        Err(e) => return Err(ApiError::from(e).into()),
    }
    let c = Chrome::of(&visitor);
    page(
        &visitor,
        &ForgotPage {
            c,
            title: "Reset your password",
            sent: true,
        },
    )
}
