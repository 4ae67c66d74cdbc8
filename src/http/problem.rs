//! Errors as RFC 9457 problem details. Clients get a stable `type`, a title and a detail that
//! never contains internals; the full cause is logged with the request id instead.

use crate::application::commands::FailureCode;
use crate::application::ports::InfraError;
use crate::domain::ValidationErrors;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use actors::ErrorChain;
use serde::Serialize;
use serde_json::{Map, Value};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// What a client (and the pages) says about a breached password.
pub const BREACHED_DETAIL: &str =
    "this password appears in known data breaches, so attackers try it early; choose another";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is invalid")]
    Validation(ValidationErrors),
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("request body too large")]
    PayloadTooLarge { limit: usize },
    #[error("not found: {0}")]
    NotFound(String),
    /// `allow`: the methods this path does serve (the `Allow` header).
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("conflict: {detail}")]
    Conflict {
        code: FailureCode,
        detail: String,
        command_id: Option<uuid::Uuid>,
    },
    #[error("the Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("authentication required: {0}")]
    Unauthorized(&'static str),
    /// The password was right; the second factor is still to come (carries its token).
    #[error("a second factor is required")]
    MfaRequired { mfa_token: String },
    #[error("too many attempts")]
    TooManyRequests { retry_after: std::time::Duration },
    /// Over the per-client request rate (not about credentials: any request counts).
    #[error("rate limited")]
    RateLimited { retry_after: std::time::Duration },
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("forbidden")]
    Forbidden,
    #[error("the email address is not verified")]
    EmailNotVerified,
    #[error("invalid one-time token")]
    InvalidToken,
    /// The new password (sent in `field`) is in the breached-password corpus.
    #[error("the password appears in known data breaches")]
    BreachedPassword { field: &'static str },
    /// The breach check failed and `BREACHED_PASSWORDS_ON_ERROR=deny`.
    #[error("the password could not be checked against known breaches")]
    Unscreened,
    /// The cause is the source (not repeated in the message): the log shows the chain once.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] InfraError),
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<&'a str>,
    #[serde(flatten)]
    extensions: Map<String, Value>,
}

impl ApiError {
    fn kind_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Validation(_) => ("/problems/validation-error", "Your request is not valid"),
            ApiError::BadRequest(_) => ("/problems/bad-request", "Malformed request"),
            ApiError::UnsupportedMediaType => {
                ("/problems/unsupported-media-type", "Unsupported media type")
            }
            ApiError::PayloadTooLarge { .. } => {
                ("/problems/payload-too-large", "Request body too large")
            }
            ApiError::NotFound(_) => ("/problems/not-found", "Not found"),
            ApiError::Unauthorized(_) => ("/problems/unauthorized", "Authentication required"),
            ApiError::TooManyRequests { .. } => {
                ("/problems/too-many-attempts", "Too many attempts")
            }
            ApiError::RateLimited { .. } => ("/problems/rate-limited", "Too many requests"),
            ApiError::MfaRequired { .. } => (
                "/problems/mfa-required",
                "A second authentication factor is required",
            ),
            ApiError::Conflict { code, .. } if code.is_mfa() => {
                ("/problems/mfa-conflict", "Two-factor state conflict")
            }
            ApiError::PreconditionFailed => {
                ("/problems/precondition-failed", "Precondition failed")
            }
            ApiError::Forbidden => ("/problems/forbidden", "Forbidden"),
            ApiError::EmailNotVerified => ("/problems/email-not-verified", "Email not verified"),
            ApiError::InvalidToken => ("/problems/invalid-token", "Invalid or expired token"),
            ApiError::BreachedPassword { .. } => (
                "/problems/breached-password",
                "This password appears in known data breaches",
            ),
            ApiError::Unscreened => (
                "/problems/password-screening-unavailable",
                "The password could not be checked against known breaches",
            ),
            ApiError::MethodNotAllowed { .. } => {
                ("/problems/method-not-allowed", "Method not allowed")
            }
            ApiError::Conflict {
                code: FailureCode::EmailTaken,
                ..
            } => ("/problems/email-taken", "Email already registered"),
            ApiError::Conflict {
                code: FailureCode::UsernameTaken,
                ..
            } => ("/problems/username-taken", "Username already taken"),
            ApiError::Conflict {
                code: FailureCode::LastAdmin,
                ..
            } => ("/problems/last-admin", "The last active admin must stay"),
            ApiError::Conflict { .. } => ("/problems/conflict", "Conflict"),
            ApiError::IdempotencyKeyReused => {
                ("/problems/idempotency-key-reused", "Idempotency-Key reused")
            }
            ApiError::Unavailable(_) => (
                "/problems/service-unavailable",
                "Service temporarily unavailable",
            ),
            ApiError::Internal(_) => ("/problems/internal-error", "Internal server error"),
        }
    }

    /// The client-facing explanation: specific for client errors, generic for ours.
    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) => errors.to_string(),
            ApiError::BadRequest(d) | ApiError::NotFound(d) => d.clone(),
            ApiError::UnsupportedMediaType => "send the body as application/json".into(),
            ApiError::PayloadTooLarge { limit } => {
                format!("the body must not exceed {limit} bytes")
            }
            ApiError::MethodNotAllowed { allow } => {
                format!("this resource supports only {allow}")
            }
            ApiError::Conflict { detail, .. } => detail.clone(),
            ApiError::IdempotencyKeyReused => {
                "this Idempotency-Key was used before with a different request body".into()
            }
            ApiError::Unauthorized(why) => (*why).to_owned(),
            ApiError::MfaRequired { .. } => {
                "send mfa_token with a TOTP or recovery code to /api/v1/auth/login/mfa".into()
            }
            ApiError::TooManyRequests { retry_after } => {
                format!(
                    "too many failed attempts; try again in {} seconds",
                    retry_after.as_secs().max(1)
                )
            }
            ApiError::RateLimited { retry_after } => {
                format!(
                    "too many requests from this client; try again in {} seconds",
                    retry_after.as_secs().max(1)
                )
            }
            ApiError::PreconditionFailed => {
                "the resource changed since the version named in If-Match".into()
            }
            ApiError::Forbidden => "this operation needs the admin role".into(),
            ApiError::EmailNotVerified => {
                "verify your email address first; POST /api/v1/auth/verify-email/resend sends a new link".into()
            }
            ApiError::InvalidToken => {
                "the token is invalid, expired, already used or replaced by a newer one".into()
            }
            ApiError::BreachedPassword { .. } => BREACHED_DETAIL.into(),
            ApiError::Unscreened => {
                "the check against known breached passwords is unavailable, and this service refuses new passwords it cannot check; retry later".into()
            }
            ApiError::Unavailable(_) => "a backing service is unavailable; retry later".into(),
            ApiError::Internal(_) => "something went wrong on our side; it has been logged".into(),
        }
    }

    /// Renders the problem document; `instance` is the request path when known.
    pub fn to_response(&self, instance: Option<&str>) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The full cause chain goes to the log, never to the client.
            tracing::error!(error = %ErrorChain(self), status = status.as_u16(), "request failed");
        }
        let (kind, title) = self.kind_and_title();
        let mut extensions = Map::new();
        match self {
            ApiError::Validation(errors) => {
                extensions.insert(
                    "errors".into(),
                    serde_json::to_value(errors).unwrap_or(Value::Null),
                );
            }
            ApiError::MfaRequired { mfa_token } => {
                extensions.insert("mfa_token".into(), Value::String(mfa_token.clone()));
            }
            // Like a validation error's, so that a form can show it at its field.
            ApiError::BreachedPassword { field } => {
                extensions.insert(
                    "errors".into(),
                    serde_json::json!([{ "field": field, "code": "breached", "message": BREACHED_DETAIL }]),
                );
            }
            ApiError::Conflict {
                code, command_id, ..
            } => {
                extensions.insert("code".into(), Value::String(code.as_str().to_owned()));
                if let Some(id) = command_id {
                    extensions.insert("command_id".into(), Value::String(id.to_string()));
                }
            }
            _ => {}
        }
        let body = Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: self.detail(),
            instance,
            extensions,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::MethodNotAllowed { allow } => {
                if let Ok(value) = HeaderValue::from_str(allow) {
                    response.insert_header((header::ALLOW, value));
                }
            }
            ApiError::Unauthorized(_) | ApiError::MfaRequired { .. } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hexactor\""),
                ));
            }
            ApiError::TooManyRequests { retry_after } | ApiError::RateLimited { retry_after } => {
                // Whole seconds, rounded up: a client that waits this long gets through.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response.insert_header((header::RETRY_AFTER, seconds.max(1).to_string()));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl ApiError {
    /// `application_errors_total{error_type}` for errors that were not the client's fault.
    pub fn server_error_type(&self) -> Option<&'static str> {
        match self {
            ApiError::Unavailable(_) | ApiError::Unscreened => Some("unavailable"),
            ApiError::Internal(_) => Some("internal"),
            _ => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_)
            | ApiError::IdempotencyKeyReused
            | ApiError::BreachedPassword { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) | ApiError::MfaRequired { .. } => StatusCode::UNAUTHORIZED,
            ApiError::TooManyRequests { .. } | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::Forbidden | ApiError::EmailNotVerified => StatusCode::FORBIDDEN,
            ApiError::InvalidToken => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) | ApiError::Unscreened => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.to_response(None)
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        ApiError::Unavailable(InfraError::new("actor mailbox", e))
    }
}

impl From<crate::application::account::AccountError> for ApiError {
    fn from(e: crate::application::account::AccountError) -> Self {
        use crate::application::account::AccountError as A;
        match e {
            A::NotFound => ApiError::NotFound("user not found".into()),
            A::Invalid(errors) => ApiError::Validation(errors),
            A::BreachedPassword { field } => ApiError::BreachedPassword { field },
            A::Unscreened => ApiError::Unscreened,
            A::Infra(e) => ApiError::Unavailable(e),
        }
    }
}

impl From<crate::application::roles::RoleError> for ApiError {
    fn from(e: crate::application::roles::RoleError) -> Self {
        match e {
            crate::application::roles::RoleError::Forbidden => ApiError::Forbidden,
            crate::application::roles::RoleError::Account(e) => e.into(),
        }
    }
}

impl From<crate::application::mfa::MfaError> for ApiError {
    fn from(e: crate::application::mfa::MfaError) -> Self {
        use crate::application::mfa::MfaError as M;
        let conflict = |code: FailureCode, e: &M| ApiError::Conflict {
            code,
            detail: e.to_string(),
            command_id: None,
        };
        match e {
            M::AlreadyEnabled => conflict(FailureCode::MfaAlreadyEnabled, &e),
            M::NotPending => conflict(FailureCode::MfaNotPending, &e),
            M::NotEnabled => conflict(FailureCode::MfaNotEnabled, &e),
            M::Account(e) => e.into(),
        }
    }
}

impl From<InfraError> for ApiError {
    fn from(e: InfraError) -> Self {
        ApiError::Unavailable(e)
    }
}

/// Body-parsing failures, classified the way a client can act on them.
pub fn json_error(error: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as J;
    match error {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => ApiError::PayloadTooLarge { limit },
        J::ContentType => ApiError::UnsupportedMediaType,
        J::Deserialize(e) if e.is_data() => ApiError::Validation(
            crate::domain::FieldError::new("body", "invalid_field", e.to_string()).into(),
        ),
        J::Deserialize(e) => ApiError::BadRequest(format!("the body is not valid JSON: {e}")),
        other => ApiError::BadRequest(format!("could not read the body: {other}")),
    }
}
