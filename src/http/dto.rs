//! Request and response bodies. The wire shapes live here, not in the domain.

use crate::application::commands::{CommandRecord, CommandStatus, CommandSubject};
use crate::domain::{User, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Fields are required strings: a missing or mistyped field is a 422 from the JSON extractor;
/// their content is then parsed by the domain.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterUserRequest {
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub password: String,
}

impl std::fmt::Debug for RegisterUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterUserRequest")
            .field("email", &self.email)
            .field("username", &self.username)
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct UserResponse {
    pub id: String,
    pub email: String,
    pub username: String,
    /// `"user"` or `"admin"`.
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub is_active: bool,
    /// The owner proved the address (POST /api/v1/auth/verify-email).
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.as_str().to_owned(),
            username: u.username.as_str().to_owned(),
            role: u.role.as_str().to_owned(),
            first_name: u.first_name.as_str().to_owned(),
            last_name: u.last_name.as_str().to_owned(),
            full_name: u.full_name(),
            is_active: u.is_active,
            email_verified: u.email_verified,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct CommandError {
    pub code: String,
    pub detail: String,
}

#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct CommandResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = String, example = "succeeded")]
    pub status: CommandStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CommandError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}

/// A user's recent commands, newest first.
#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct CommandList {
    pub items: Vec<CommandResponse>,
}

/// The URL a command is polled at.
pub fn command_location(id: uuid::Uuid) -> String {
    format!("/api/v1/commands/{id}")
}

/// The URL a user is served at.
pub fn user_location(id: UserId) -> String {
    format!("/api/v1/users/{id}")
}

/// Where the client reads what a command was about (its `location`, a `Location` header).
pub fn subject_location(subject: CommandSubject) -> String {
    match subject {
        CommandSubject::User(id) => user_location(id),
        // Every reset request reports the same place, whatever became of it.
        CommandSubject::PasswordReset => "/api/v1/auth/password-reset".to_owned(),
        CommandSubject::OAuthClient(id) => client_location(id),
    }
}

/// The URL an OAuth client's registration is served at.
pub fn client_location(id: uuid::Uuid) -> String {
    format!("/api/v1/oauth2/clients/{id}")
}

impl From<&CommandRecord> for CommandResponse {
    fn from(c: &CommandRecord) -> Self {
        Self {
            id: c.id.to_string(),
            kind: c.kind.clone(),
            status: c.status,
            error: c.error_code.map(|code| CommandError {
                code: code.as_str().to_owned(),
                detail: c.error_detail.clone().unwrap_or_default(),
            }),
            location: c.subject.map(subject_location),
            created_at: c.created_at,
            completed_at: c.completed_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: String,
    pub email: String,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

impl From<&crate::application::auth::TokenPair> for TokenResponse {
    fn from(p: &crate::application::auth::TokenPair) -> Self {
        Self {
            access_token: p.access.token.clone(),
            token_type: "bearer".into(),
            expires_at: p.access.expires_at,
            user_id: p.principal.user_id.to_string(),
            email: p.principal.email.clone(),
            refresh_token: p.refresh.refresh_token.clone(),
            refresh_expires_at: p.refresh.refresh_expires_at,
        }
    }
}

#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub offset: Option<u64>,
    /// Only users whose email or username starts with this (case-insensitive).
    pub q: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct UserListResponse {
    pub items: Vec<UserResponse>,
    pub limit: u32,
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// One of `/problems/`: `validation-error`, `bad-request`, `unsupported-media-type`,
    /// `payload-too-large`, `not-found`, `method-not-allowed`, `unauthorized`, `mfa-required`
    /// (401 with `mfa_token`), `forbidden`, `too-many-attempts`, `precondition-failed`,
    /// `conflict`, `email-taken`, `username-taken`, `last-admin`, `mfa-conflict`,
    /// `idempotency-key-reused`, `invalid-token` (a one-time token unknown, expired, used or
    /// superseded), `email-not-verified` (login with `REQUIRE_VERIFIED_EMAIL`),
    /// `breached-password` (422: a new password found by breached-password screening; `errors`
    /// names its field), `password-screening-unavailable` (503: the screening failed and
    /// `BREACHED_PASSWORDS_ON_ERROR=deny`), `service-unavailable`, `internal-error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub instance: Option<String>,
    /// Per-field validation errors (422 only: `validation-error`, and `breached-password` with
    /// code `breached`).
    pub errors: Option<Vec<FieldProblem>>,
    /// Machine-readable reason of a 409 (`email_taken`, `last_admin`, `mfa_already_enabled`, …).
    pub code: Option<String>,
    /// `/problems/mfa-required` only: the single-use token for `POST /api/v1/auth/login/mfa`.
    pub mfa_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The answer to a command that is still running (`202 Accepted`).
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub command_id: String,
    pub status: String,
    pub location: String,
}
