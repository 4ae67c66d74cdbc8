//! Ports of the two-factor (TOTP) part of the auth context.

use super::ports::InfraError;
use crate::domain::UserId;
use actix::Message;
use std::time::Duration;

/// Authenticated encryption of secrets kept at rest. A trait, like `TokenService`: a few
/// microseconds of CPU, no I/O. `owner` is bound in as associated data.
pub trait SecretCipher: Send + Sync {
    fn seal(&self, plaintext: &[u8], owner: &[u8]) -> Vec<u8>;
    /// `None` if the value was not sealed with this key for this owner.
    fn open(&self, sealed: &[u8], owner: &[u8]) -> Option<Vec<u8>>;
}

/// A user's TOTP enrolment, the secret still sealed.
#[derive(Debug, Clone)]
pub struct TotpRecord {
    pub sealed_secret: Vec<u8>,
    pub confirmed: bool,
    pub last_used_step: Option<i64>,
}

#[derive(Message)]
#[rtype(result = "Result<Option<TotpRecord>, InfraError>")]
pub struct FindTotp {
    pub user_id: UserId,
}

/// A single-use token that stands for "password verified" until the second factor is given.
#[derive(Message)]
#[rtype(result = "Result<String, InfraError>")]
pub struct CreateMfaChallenge {
    pub user_id: UserId,
    pub ttl: Duration,
}

/// Spends the token (whatever comes next): its user if it was live.
#[derive(Message)]
#[rtype(result = "Result<Option<UserId>, InfraError>")]
pub struct ConsumeMfaChallenge {
    pub token: String,
}

/// Records `step` as used if it is later than the last one used: `false` means a replay.
#[derive(Message)]
#[rtype(result = "Result<bool, InfraError>")]
pub struct UseTotpStep {
    pub user_id: UserId,
    pub step: i64,
}

/// Spends an unused recovery code (by its SHA-256): `false` if there is none.
#[derive(Message)]
#[rtype(result = "Result<bool, InfraError>")]
pub struct UseRecoveryCode {
    pub user_id: UserId,
    pub code_hash: Vec<u8>,
}
