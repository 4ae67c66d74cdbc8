//! Account recovery commands: password reset and email verification. One-time tokens never travel
//! in them: only their hashes or the request ids they are derived from.

use crate::domain::Email;
use crate::domain::PasswordHash;
use crate::domain::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestPasswordResetCommand {
    pub command_id: Uuid,
    pub email: Email,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetPasswordCommand {
    pub command_id: Uuid,
    /// The token's id (its row), found by the API from the token's hash.
    pub token_id: Uuid,
    pub password_hash: PasswordHash,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestEmailVerificationCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyEmailCommand {
    pub command_id: Uuid,
    pub token_id: Uuid,
}
