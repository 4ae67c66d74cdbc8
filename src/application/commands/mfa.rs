//! Two-factor commands: enrol, confirm and disable TOTP. They carry ciphertext and hashes only: the
//! TOTP secret is sealed under the data key before it leaves the API.

use crate::domain::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrolTotpCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
    /// Ciphertext only (nonce || sealed secret); the key never leaves the API and workers.
    pub sealed_secret: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmTotpCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
    /// The enrolment the code was checked against: a newer enrolment is not confirmed by it.
    pub sealed_secret: Vec<u8>,
    /// The step of the code given, recorded as used.
    pub step: i64,
    /// SHA-256 of each recovery code.
    pub recovery_code_hashes: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisableTotpCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
}
