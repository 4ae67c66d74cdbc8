//! The hashing pool: bcrypt is deliberately slow CPU work (≈270 ms at cost 12), so each hasher
//! actor runs on an arbiter (thread) of its own, one per core, and blocks only that thread. The
//! strength check of a new password (zxcvbn, as costly as a cost-4 hash) runs here too, for the
//! same reason: `HashNewPassword` is "check, then hash".

use crate::application::ports::{HashNewPassword, HashPassword, InfraError};
use crate::domain::{FieldError, Password, PasswordHash, check_strength};
use actix::prelude::*;

pub struct PasswordHasher {
    cost: u32,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        Self { cost }
    }

    fn hash(&self, password: &Password) -> Result<PasswordHash, InfraError> {
        // Non-truncating: bcrypt ignores bytes past 72; the domain already rejects longer input,
        // and this refuses rather than silently hashing a prefix if that ever changes.
        bcrypt::non_truncating_hash(password.expose_secret(), self.cost)
            .map(PasswordHash::new)
            .map_err(|e| InfraError::new("bcrypt", e))
    }
}

impl Actor for PasswordHasher {
    type Context = Context<Self>;
}

impl Supervised for PasswordHasher {}

impl Handler<HashPassword> for PasswordHasher {
    type Result = Result<PasswordHash, InfraError>;

    fn handle(&mut self, msg: HashPassword, _: &mut Context<Self>) -> Self::Result {
        self.hash(&msg.password)
    }
}

::actors::instrument!(PasswordHasher: HashPassword);

impl Handler<HashNewPassword> for PasswordHasher {
    type Result = Result<Result<PasswordHash, FieldError>, InfraError>;

    fn handle(&mut self, msg: HashNewPassword, _: &mut Context<Self>) -> Self::Result {
        // Check first: a weak password is refused without spending a hash on it.
        if let Err(weak) = check_strength(&msg.password, &msg.username, &msg.email) {
            return Ok(Err(weak));
        }
        self.hash(&msg.password).map(Ok)
    }
}

::actors::instrument!(PasswordHasher: HashNewPassword);

impl Handler<crate::application::ports::VerifyPassword> for PasswordHasher {
    type Result = Result<bool, InfraError>;

    fn handle(
        &mut self,
        msg: crate::application::ports::VerifyPassword,
        _: &mut Context<Self>,
    ) -> Self::Result {
        // A password over bcrypt's 72 bytes can never match (we never store such hashes).
        Ok(
            bcrypt::non_truncating_verify(msg.password.expose_secret(), msg.hash.as_str())
                .unwrap_or(false),
        )
    }
}

::actors::instrument!(PasswordHasher: crate::application::ports::VerifyPassword);
