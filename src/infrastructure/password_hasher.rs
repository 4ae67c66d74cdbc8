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
        // bcrypt reads at most 72 bytes. The domain rejects longer input, and this refuses
        // rather than silently hashing a prefix if that ever changes. (Not the crate's
        // `non_truncating_hash`: it refuses exactly 72 bytes too, counting a C string's NUL
        // terminator that a 72-byte password does not need — a 72-byte password was a 503.)
        let secret = password.expose_secret();
        if secret.len() > 72 {
            return Err(InfraError::msg("bcrypt: a password over 72 bytes"));
        }
        bcrypt::hash(secret, self.cost)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_password_the_domain_accepts_hashes_and_verifies() {
        let longest = "p".repeat(72);
        let password = Password::parse(longest.clone()).expect("72 bytes are allowed");
        let hash = PasswordHasher::new(4).hash(&password).expect("hashed");
        assert!(bcrypt::verify(&longest, hash.as_str()).unwrap());
        // One byte less is another password: all 72 bytes count.
        assert!(!bcrypt::verify(&longest[..71], hash.as_str()).unwrap());
    }
}
