//! Email pages: the two links of an email change (`/confirm-email-change`,
//! `/revert-email-change`, the REST routes' `ConfirmEmailChange` and `RevertEmailChange`) and the
//! account page's email forms (change, resend verification).

use super::account::{TwoFactorView, render, settled, signed_in, signed_in_form};
use super::forms::{Fields, Outcome, outcome, refusal};
use super::recovery::{TokenAction, TokenForm, TokenQuery, finish, invalid_link, message, show};
use super::render::{PageError, redirect};
use super::session::Visitor;
use super::sign_in::CsrfForm;
use crate::application::email_change::{
    ConfirmEmailChange, EmailChangeError, RequestEmailChange, RevertEmailChange,
};
use crate::application::recovery::ResendVerification;
use crate::http::ApiState;
use crate::http::problem::ApiError;
use crate::http::routes::auth::client_address;
use crate::http::routes::request::origin;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

const CONFIRM_CHANGE: TokenAction = TokenAction {
    title: "Confirm your new email address",
    explanation: "Your account will use this address from now on.",
    action: "/confirm-email-change",
    button: "Confirm new email",
};
const REVERT_CHANGE: TokenAction = TokenAction {
    title: "Undo the email change",
    explanation: "Your account goes back to this address and every session ends. Change your password afterwards if you did not ask for the change.",
    action: "/revert-email-change",
    button: "Undo the change",
};

pub async fn confirm_email_change_page(
    v: Visitor,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    show(v, q, &CONFIRM_CHANGE).await
}
pub async fn revert_email_change_page(
    v: Visitor,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    show(v, q, &REVERT_CHANGE).await
}

/// The page after a token's command: done, still on its way, or the link did not work.
fn email_change_error(visitor: &Visitor, e: EmailChangeError) -> Result<HttpResponse, PageError> {
    match e {
        EmailChangeError::InvalidToken | EmailChangeError::NotFound => invalid_link(visitor),
        EmailChangeError::Infra(e) => Err(e.into()),
        other => Err(PageError::Internal(other.to_string())),
    }
}

pub async fn confirm_email_change(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    visitor.check_form(&req, &form.csrf)?;
    let TokenForm { token, .. } = form.into_inner();
    match state
        .email_change
        .confirm
        .ask(ConfirmEmailChange {
            token,
            origin: origin(&state, &req),
        })
        .await?
    {
        Ok(s) => {
            finish(
                &state,
                &visitor,
                &req,
                s,
                (
                    "Email address changed",
                    "Your account uses the new address from now on.",
                ),
            )
            .await
        }
        Err(e) => email_change_error(&visitor, e),
    }
}

pub async fn revert_email_change(
    state: web::Data<ApiState>,
    mut visitor: Visitor,
    req: HttpRequest,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    visitor.check_form(&req, &form.csrf)?;
    let TokenForm { token, .. } = form.into_inner();
    let submission = match state
        .email_change
        .revert
        .ask(RevertEmailChange {
            token,
            origin: origin(&state, &req),
        })
        .await?
    {
        Ok(s) => s,
        Err(e) => return email_change_error(&visitor, e),
    };
    match outcome(&state, &req, submission).await? {
        Outcome::Done => {
            // Every session ended, this browser's too.
            visitor.sign_out();
            Ok(redirect(&visitor, "/login?done=reverted"))
        }
        Outcome::InvalidToken => invalid_link(&visitor),
        Outcome::Pending => message(
            &visitor,
            StatusCode::ACCEPTED,
            "Undoing the change",
            "Your account goes back to this address in a moment.",
            ("/login", "Sign in"),
        ),
        Outcome::Refused(code) => message(
            &visitor,
            StatusCode::CONFLICT,
            "This could not be done",
            refusal(code).1,
            ("/", "Go to the start page"),
        ),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    new_email: String,
    password: String,
}

pub async fn change_email(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let EmailForm {
        new_email,
        password,
        ..
    } = form.into_inner();
    let client_address = client_address(&req).unwrap_or_else(|| "unknown".into());
    let asked = state.email_change.request.ask(RequestEmailChange {
        principal: principal.clone(),
        new_email,
        password,
        client_address,
        origin: origin(&state, &req),
    });
    let submitted = match asked.await? {
        Ok(s) => Ok(s),
        Err(EmailChangeError::WrongPassword) => {
            return render(
                &state,
                &visitor,
                &principal,
                None,
                Fields::one("email_password", "The password is not right."),
                TwoFactorView::default(),
            )
            .await;
        }
        Err(EmailChangeError::Locked { retry_after }) => {
            return Err(PageError::TooMany { retry_after });
        }
        Err(EmailChangeError::Invalid(errors)) => Err(ApiError::Validation(errors)),
        Err(EmailChangeError::Infra(e)) => return Err(e.into()),
        Err(other) => return Err(PageError::Internal(other.to_string())),
    };
    // Accepted whether or not the address is in use (as the API's 202): say so at once.
    match submitted {
        Ok(_) => Ok(redirect(&visitor, "/account?done=email")),
        Err(e) => settled(&state, &visitor, &req, &principal, Err(e), "email").await,
    }
}

pub async fn resend_verification(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let asked = state.recovery.resend_verification.ask(ResendVerification {
        user_id: principal.user_id,
        principal,
        origin: origin(&state, &req),
    });
    asked.await?.map_err(ApiError::from)?;
    Ok(redirect(&visitor, "/account?done=verification"))
}
