//! The hashing pool: Argon2id and bcrypt are deliberately slow CPU work (tens to hundreds of
//! milliseconds), so each hasher actor runs on an arbiter (thread) of its own and blocks only that
//! thread; `startup::api` sizes the pool by cores and by memory (Argon2id holds
//! `ARGON2_MEMORY_KIB` per hash in flight). The strength check of a new password (zxcvbn, as
//! costly as a cheap hash) runs here too, for the same reason: `HashNewPassword` is "check,
//! screen, then hash"; the screening's I/O waits on another actor, not on this thread.

use super::breached_passwords::ScreenPassword;
use super::password_hashing;
use crate::application::ports::{
    HashNewPassword, HashPassword, InfraError, NewPasswordRefused, Verified, VerifyPassword,
};
use crate::domain::{FieldError, Password, PasswordHash, PasswordHashing, check_strength};
use ::actors::Port;
use actix::prelude::*;

pub struct PasswordHasher {
    hashing: PasswordHashing,
    /// `None`: screening is off (neither `BREACHED_PASSWORDS_URL` nor `_FILE` is set).
    screen: Option<Port<ScreenPassword>>,
}

impl PasswordHasher {
    pub fn new(hashing: PasswordHashing, screen: Option<Port<ScreenPassword>>) -> Self {
        Self { hashing, screen }
    }

    fn hash(&self, password: &Password) -> Result<PasswordHash, InfraError> {
        password_hashing::hash(&self.hashing, password.expose_secret())
            .map_err(|e| InfraError::new("password hashing", e))
    }

    /// Strength, and what the configured algorithm can hash whole (bcrypt: 72 bytes).
    fn check(&self, msg: &HashNewPassword) -> Result<(), FieldError> {
        let max = self.hashing.max_password_bytes();
        if msg.password.expose_secret().len() > max {
            return Err(FieldError::new(
                "password",
                "too_long",
                format!(
                    "password must be at most {max} bytes with {}",
                    self.hashing.name()
                ),
            ));
        }
        check_strength(&msg.password, &msg.username, &msg.email)
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

impl Handler<HashNewPassword> for PasswordHasher {
    type Result =
        ResponseActFuture<Self, Result<Result<PasswordHash, NewPasswordRefused>, InfraError>>;

    fn handle(&mut self, msg: HashNewPassword, _: &mut Context<Self>) -> Self::Result {
        // Check first: a weak password is refused without a screening or a hash spent on it.
        if let Err(weak) = self.check(&msg) {
            return Box::pin(fut::ready(Ok(Err(NewPasswordRefused::Weak(weak)))));
        }
        let screening = self
            .screen
            .clone()
            .map(|screen| (screen, ScreenPassword::of(msg.password.expose_secret())));
        let screened = async move {
            match screening {
                None => Ok(Ok(())),
                Some((screen, ask)) => screen
                    .ask(ask)
                    .await
                    .map_err(|e| InfraError::new("breached-password screen", e)),
            }
        };
        // While the screening is awaited this thread serves other hashes; the hash itself runs
        // here, on the pool, once the verdict is in.
        Box::pin(
            screened
                .into_actor(self)
                .map(move |screened, act, _| match screened? {
                    Ok(()) => act.hash(&msg.password).map(Ok),
                    Err(refused) => Ok(Err(refused)),
                }),
        )
    }
}

impl Handler<VerifyPassword> for PasswordHasher {
    type Result = Result<Verified, InfraError>;

    fn handle(&mut self, msg: VerifyPassword, _: &mut Context<Self>) -> Self::Result {
        Ok(password_hashing::verify(&msg.password, &msg.hash))
    }
}

::actors::instrument!(PasswordHasher: HashPassword, HashNewPassword, VerifyPassword);
