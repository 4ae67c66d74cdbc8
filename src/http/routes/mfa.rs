//! TOTP two-factor: enrol, confirm, disable (commands through RabbitMQ), and the second login
//! step. The secret and the recovery codes appear in exactly one response each, never again.

use super::ApiState;
use super::auth::{client_address, user_agent};
use super::command_reply::{Settled, accepted, settle};
use super::request::origin;
use crate::application::auth::LoginOutcome;
use crate::application::mfa::{ConfirmTotp, DisableTotp, StartTotpEnrolment};
use crate::application::mfa_login::LoginMfa;
use crate::http::auth::Authenticated;
use crate::http::dto::{Problem, TokenResponse};
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolmentResponse {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// For a QR code.
    pub otpauth_uri: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// Ten single-use codes, each accepted in place of a TOTP code once.
    pub recovery_codes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTotpRequest {
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginMfaRequest {
    pub mfa_token: String,
    /// A current TOTP code, or one of the recovery codes.
    pub code: String,
}

/// 200 with `body` once the command succeeded; 202 with the same body (shown only now) and the
/// command to poll while it is pending.
fn with_body<T: Serialize>(settled: Settled, body: &T) -> HttpResponse {
    match settled {
        Settled::Succeeded(..) => HttpResponse::Ok().json(body),
        Settled::Pending(command_id) => {
            let location = crate::http::dto::command_location(command_id);
            let mut value = serde_json::to_value(body).unwrap_or_default();
            value["command_id"] = serde_json::json!(command_id);
            value["status"] = "pending".into();
            HttpResponse::Accepted()
                .insert_header((header::LOCATION, location))
                .json(value)
        }
    }
}

#[utoipa::path(post, path = "/api/v1/users/me/mfa/totp", tag = "mfa", security(("bearer" = [])),
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 200, description = "A new pending secret (inactive until confirmed)", body = TotpEnrolmentResponse), (status = 202, description = "Recorded, not yet applied: the same body plus the command to poll"), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 409, description = "`/problems/mfa-conflict`: TOTP is already enabled", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "totp_enrol", skip_all)]
pub async fn enrol(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let enrolment = state
        .mfa
        .enrol
        .ask(StartTotpEnrolment {
            principal: who.0,
            origin: origin(&state, &req),
        })
        .await??;
    let settled = settle(&state, &req, enrolment.submission).await?;
    let body = TotpEnrolmentResponse {
        secret: enrolment.secret.to_base32(),
        otpauth_uri: enrolment.otpauth_uri,
    };
    Ok(with_body(settled, &body))
}

#[utoipa::path(post, path = "/api/v1/users/me/mfa/totp/confirm", tag = "mfa", security(("bearer" = [])), request_body = TotpCodeRequest,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 200, description = "TOTP is on; the recovery codes, shown once", body = RecoveryCodesResponse), (status = 202, description = "Recorded, not yet applied: the same body plus the command to poll"), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 409, description = "`/problems/mfa-conflict`: no pending enrolment, or already enabled", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Wrong code", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "totp_confirm", skip_all)]
pub async fn confirm(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    body: web::Json<TotpCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (submission, recovery_codes) = state
        .mfa
        .confirm
        .ask(ConfirmTotp {
            principal: who.0,
            code: body.into_inner().code,
            origin: origin(&state, &req),
        })
        .await??;
    let settled = settle(&state, &req, submission).await?;
    Ok(with_body(
        settled,
        &RecoveryCodesResponse { recovery_codes },
    ))
}

#[utoipa::path(delete, path = "/api/v1/users/me/mfa/totp", tag = "mfa", security(("bearer" = [])), request_body = DisableTotpRequest,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "TOTP is off, recovery codes gone"), (status = 202, description = "Accepted; poll the command", body = crate::http::dto::Accepted), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 409, description = "`/problems/mfa-conflict`: TOTP is not enabled", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Wrong password", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "totp_disable", skip_all)]
pub async fn disable(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    body: web::Json<DisableTotpRequest>,
) -> Result<HttpResponse, ApiError> {
    let submission = state
        .mfa
        .disable
        .ask(DisableTotp {
            principal: who.0,
            password: body.into_inner().password,
            origin: origin(&state, &req),
        })
        .await??;
    Ok(match settle(&state, &req, submission).await? {
        Settled::Succeeded(..) => HttpResponse::NoContent().finish(),
        Settled::Pending(command_id) => accepted(command_id),
    })
}

#[utoipa::path(post, path = "/api/v1/auth/login/mfa", tag = "auth", request_body = LoginMfaRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Unknown, expired or spent mfa_token, or a wrong code (the token is spent either way: log in again)", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many failures; see Retry-After", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "login_mfa", skip_all)]
pub async fn login_mfa(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<LoginMfaRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginMfaRequest { mfa_token, code } = body.into_inner();
    match state
        .mfa
        .login
        .ask(LoginMfa {
            mfa_token,
            code,
            client_address: client_address(&req).unwrap_or_else(|| "unknown".into()),
            user_agent: user_agent(&req),
        })
        .await??
    {
        LoginOutcome::Success(pair) => Ok(HttpResponse::Ok().json(TokenResponse::from(&pair))),
        LoginOutcome::Locked { retry_after } => Err(ApiError::TooManyRequests { retry_after }),
        LoginOutcome::InvalidCredentials
        | LoginOutcome::MfaRequired { .. }
        | LoginOutcome::EmailNotVerified => Err(ApiError::Unauthorized(
            "the MFA token is invalid, expired or used, or the code is wrong",
        )),
    }
}
