//! The hashing pool: bcrypt is deliberately slow CPU work (≈270 ms at cost 12), so each hasher
//! actor runs on an arbiter (thread) of its own, one per core, and blocks only that thread.

use crate::application::ports::{HashPassword, InfraError};
use crate::domain::PasswordHash;
use actix::prelude::*;

pub struct PasswordHasher {
    cost: u32,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        Self { cost }
    }
}

impl Actor for PasswordHasher {
    type Context = Context<Self>;
}

impl Supervised for PasswordHasher {}

impl Handler<HashPassword> for PasswordHasher {
    type Result = Result<PasswordHash, InfraError>;

    fn handle(&mut self, msg: HashPassword, _: &mut Context<Self>) -> Self::Result {
        // Non-truncating: bcrypt ignores bytes past 72; the domain already rejects longer input,
        // and this refuses rather than silently hashing a prefix if that ever changes.
        bcrypt::non_truncating_hash(msg.password.expose_secret(), self.cost)
            .map(PasswordHash::new)
            .map_err(|e| InfraError::new("bcrypt", e))
    }
}

::actors::instrument!(PasswordHasher: HashPassword);
