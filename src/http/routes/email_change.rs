//! `/api/v1/users/me/email` and `/api/v1/auth/email-change/*`: changing the account's address.
//! The request answers 202 at once whatever becomes of it (enumeration-safe); confirming and
//! reverting wait for their command like the rest.

use super::ApiState;
use super::auth::client_address;
use super::command_reply::{Success, accepted_now, respond};
use super::request::origin;
use crate::application::email_change::{
    ConfirmEmailChange, EmailChangeError, RequestEmailChange, RevertEmailChange,
};
use crate::http::auth::Authenticated;
use crate::http::dto::{Accepted, Problem};
use crate::http::problem::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct EmailChangeRequest {
    pub new_email: String,
    /// The account's current password.
    pub password: String,
}

impl std::fmt::Debug for EmailChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailChangeRequest { new_email: .., password: *** }")
    }
}

#[derive(Deserialize, ToSchema)]
pub struct EmailChangeToken {
    /// The token from the emailed link.
    pub token: String,
}

impl From<EmailChangeError> for ApiError {
    fn from(e: EmailChangeError) -> Self {
        match e {
            EmailChangeError::WrongPassword => {
                ApiError::Unauthorized("the password is not correct")
            }
            EmailChangeError::Locked { retry_after } => ApiError::TooManyRequests { retry_after },
            EmailChangeError::InvalidToken => ApiError::InvalidToken,
            EmailChangeError::Invalid(errors) => ApiError::Validation(errors),
            EmailChangeError::NotFound => ApiError::NotFound("user not found".into()),
            EmailChangeError::Infra(e) => ApiError::Unavailable(e),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/users/me/email", tag = "users", security(("bearer" = [])), request_body = EmailChangeRequest,
    responses((status = 202, description = "Accepted, whatever the address: a confirmation link goes to the new address unless another account uses it, and the current address gets a notice with an undo link (valid 7 days). A newer request replaces an older one", body = Accepted),
    (status = 401, description = "Missing or invalid access token, or the password is not correct (counted like a failed login)", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn request_email_change(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    body: web::Json<EmailChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let EmailChangeRequest {
        new_email,
        password,
    } = body.into_inner();
    let submission = state
        .email_change
        .request
        .ask(RequestEmailChange {
            principal: who.0,
            new_email,
            password,
            client_address: client_address(&req).unwrap_or_else(|| "unknown".into()),
            origin: origin(&state, &req),
        })
        .await??;
    accepted_now(submission)
}

#[utoipa::path(post, path = "/api/v1/auth/email-change/confirm", tag = "auth", request_body = EmailChangeToken,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "The account's address is the new one, verified; logins use it from now on"),
    (status = 202, description = "Accepted; poll the command", body = Accepted),
    (status = 400, description = "The token is invalid, expired, used or replaced by a newer request (type /problems/invalid-token)", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Another account took the address meanwhile (type /problems/email-taken)", body = Problem, content_type = "application/problem+json")))]
pub async fn confirm_email_change(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<EmailChangeToken>,
) -> Result<HttpResponse, ApiError> {
    let submission = state
        .email_change
        .confirm
        .ask(ConfirmEmailChange {
            token: body.into_inner().token,
            origin: origin(&state, &req),
        })
        .await??;
    respond(&state, &req, submission, Success::NoContent).await
}

#[utoipa::path(post, path = "/api/v1/auth/email-change/revert", tag = "auth", request_body = EmailChangeToken,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "The old address is the account's again (a pending change is cancelled); every session ended"),
    (status = 202, description = "Accepted; poll the command", body = Accepted),
    (status = 400, description = "The token is invalid, expired or used (type /problems/invalid-token)", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Another account took the old address meanwhile (type /problems/email-taken)", body = Problem, content_type = "application/problem+json")))]
pub async fn revert_email_change(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<EmailChangeToken>,
) -> Result<HttpResponse, ApiError> {
    let submission = state
        .email_change
        .revert
        .ask(RevertEmailChange {
            token: body.into_inner().token,
            origin: origin(&state, &req),
        })
        .await??;
    respond(&state, &req, submission, Success::NoContent).await
}
