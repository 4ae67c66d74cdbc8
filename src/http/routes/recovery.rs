//! `/api/v1/auth/password-reset*` and `/api/v1/auth/verify-email*`: password recovery and email
//! verification. Each one records a command for the workers; the reset request answers at once
//! with the same body whatever the address (enumeration-safe), the others wait like the rest.

use super::ApiState;
use super::command_reply::{Success, accepted_now, respond};
use super::request::{origin, parse_id};
use crate::application::ports::GetUser;
use crate::application::recovery::{
    ConfirmPasswordReset, RecoveryError, RequestPasswordReset, ResendVerification, VerifyEmail,
};
use crate::domain::{UserId, can_manage};
use crate::http::auth::Authenticated;
use crate::http::dto::{Accepted, Problem};
use crate::http::problem::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordResetConfirmation {
    /// The token from the emailed link.
    pub token: String,
    pub new_password: String,
}

impl std::fmt::Debug for PasswordResetConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordResetConfirmation { token: ***, new_password: *** }")
    }
}

#[derive(Deserialize, ToSchema)]
pub struct EmailVerification {
    pub token: String,
}

impl From<RecoveryError> for ApiError {
    fn from(e: RecoveryError) -> Self {
        match e {
            RecoveryError::InvalidToken => ApiError::InvalidToken,
            RecoveryError::Invalid(errors) => ApiError::Validation(errors),
            RecoveryError::NotFound => ApiError::NotFound("user not found".into()),
            RecoveryError::BreachedPassword => ApiError::BreachedPassword {
                field: "new_password",
            },
            RecoveryError::Unscreened => ApiError::Unscreened,
            RecoveryError::Infra(e) => ApiError::Unavailable(e),
        }
    }
}

/// The one answer to every well-formed reset request.
const RESET_REQUESTED: &str =
    "if an active account uses this address, a message with a reset link is on its way";

#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202, description = "Always the same body, whether or not an account uses the address; a mail goes out only to an active account (at most one per account per ACCOUNT_MAIL_MIN_INTERVAL_SECONDS)"),
    (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json")))]
pub async fn request_password_reset(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .recovery
        .request_reset
        .ask(RequestPasswordReset {
            email: body.into_inner().email,
            origin: origin(&state, &req),
        })
        .await??;
    Ok(HttpResponse::Accepted()
        .json(serde_json::json!({ "status": "accepted", "detail": RESET_REQUESTED })))
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirmation,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "The password is changed; every session of the account ended; the token is spent"),
    (status = 202, description = "Accepted; poll the command", body = Accepted),
    (status = 400, description = "The token is invalid, expired, used or superseded (type /problems/invalid-token)", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "The new password breaks the password policy", body = Problem, content_type = "application/problem+json")))]
pub async fn confirm_password_reset(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<PasswordResetConfirmation>,
) -> Result<HttpResponse, ApiError> {
    let PasswordResetConfirmation {
        token,
        new_password,
    } = body.into_inner();
    let submission = state
        .recovery
        .confirm_reset
        .ask(ConfirmPasswordReset {
            token,
            new_password,
            origin: origin(&state, &req),
        })
        .await??;
    respond(&state, &req, submission, Success::NoContent).await
}

#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = EmailVerification,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "The address is verified (email_verified: true)"),
    (status = 202, description = "Accepted; poll the command", body = Accepted),
    (status = 400, description = "The token is invalid, expired, used or superseded (type /problems/invalid-token)", body = Problem, content_type = "application/problem+json")))]
pub async fn verify_email(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<EmailVerification>,
) -> Result<HttpResponse, ApiError> {
    let submission = state
        .recovery
        .verify_email
        .ask(VerifyEmail {
            token: body.into_inner().token,
            origin: origin(&state, &req),
        })
        .await??;
    respond(&state, &req, submission, Success::NoContent).await
}

#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "auth", security(("bearer" = [])),
    responses((status = 202, description = "A new link goes out (older ones stop working) unless the address is verified already or a link went out within ACCOUNT_MAIL_MIN_INTERVAL_SECONDS", body = Accepted),
    (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json")))]
pub async fn resend_verification(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let submission = state
        .recovery
        .resend_verification
        .ask(ResendVerification {
            user_id: who.0.user_id,
            principal: who.0,
            origin: origin(&state, &req),
        })
        .await??;
    accepted_now(submission)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/verification", tag = "users", security(("bearer" = [])), params(("id" = String, Path, description = "User id (UUID)")),
    responses((status = 202, description = "A new verification link goes out to the user (older ones stop working) unless the address is verified already, the account is deactivated or a link went out within ACCOUNT_MAIL_MIN_INTERVAL_SECONDS", body = Accepted),
    (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such user, or not yours (an admin may ask for anyone)", body = Problem, content_type = "application/problem+json")))]
pub async fn resend_verification_for(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::from_uuid(parse_id(&id, "user")?);
    // The answer comes at once (a mail is the work), so an unknown id is found here rather
    // than only in the command's outcome; for anyone but an admin the use case says 404 first.
    if can_manage(&who.0, user_id) && state.users.ask(GetUser { id: user_id }).await??.is_none() {
        return Err(ApiError::NotFound("user not found".into()));
    }
    let submission = state
        .recovery
        .resend_verification
        .ask(ResendVerification {
            principal: who.0,
            user_id,
            origin: origin(&state, &req),
        })
        .await??;
    accepted_now(submission)
}
