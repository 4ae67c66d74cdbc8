//! Registration, API side: check the password's strength, screen it and hash it on the hashing
//! pool (one message), then record the command and its outbox message durably. The plaintext password ends
//! its life in the hashing pool's message. A weak password is refused here, before anything is
//! submitted, so the client still gets its 422 synchronously, even with `respond-async`.

use super::account::AccountError;
use super::commands::{Command, RegisterUserCommand};
use super::ports::{HashNewPassword, InfraError, Submission, SubmitCommand};
use crate::domain::{NewUserDetails, Password, UserId};
use ::actors::Port;
use actix::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Message)]
/// `AccountError::Invalid` is a weak password, `BreachedPassword` a breached one; `NotFound`
/// never happens here.
#[rtype(result = "Result<Submission, AccountError>")]
pub struct RegisterUser {
    pub details: NewUserDetails,
    pub password: Password,
    pub idempotency_key: Option<String>,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
    pub reply_to: Option<String>,
}

pub struct RegistrationService {
    hasher: Port<HashNewPassword>,
    commands: Port<SubmitCommand>,
    fingerprint_key: Vec<u8>,
}

impl RegistrationService {
    pub fn new(
        hasher: Port<HashNewPassword>,
        commands: Port<SubmitCommand>,
        fingerprint_key: &[u8],
    ) -> Self {
        Self {
            hasher,
            commands,
            fingerprint_key: fingerprint_key.to_vec(),
        }
    }
}

/// HMAC-SHA256 (RFC 2104) of the request's fields. Keyed, so the stored fingerprint is no help
/// to someone guessing passwords offline; it only tells "same request" from "different request".
pub fn fingerprint(key: &[u8], details: &NewUserDetails, password: &Password) -> Vec<u8> {
    // HMAC takes a key of any length (longer ones are hashed first), so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for field in [
        details.email.as_str(),
        details.username.as_str(),
        details.first_name.as_str(),
        details.last_name.as_str(),
        password.expose_secret(),
    ] {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

impl Actor for RegistrationService {
    type Context = Context<Self>;
}

impl Supervised for RegistrationService {}

impl Handler<RegisterUser> for RegistrationService {
    type Result = ResponseFuture<Result<Submission, AccountError>>;

    #[tracing::instrument(name = "register_user", skip_all, fields(request_id = msg.request_id.as_deref()))]
    fn handle(&mut self, msg: RegisterUser, _: &mut Context<Self>) -> Self::Result {
        let hasher = self.hasher.clone();
        let commands = self.commands.clone();
        let fingerprint = msg
            .idempotency_key
            .as_ref()
            .map(|_| fingerprint(&self.fingerprint_key, &msg.details, &msg.password));
        Box::pin(async move {
            let RegisterUser {
                details,
                password,
                idempotency_key,
                request_id,
                traceparent,
                reply_to,
            } = msg;
            let username = details.username.as_str().to_owned();
            let email = details.email.as_str().to_owned();
            let password_hash = hasher
                .ask(HashNewPassword {
                    password,
                    username,
                    email,
                })
                .await
                .map_err(|e| InfraError::new("hashing pool", e))??
                .map_err(|refused| AccountError::refused(refused, "password"))?;
            let command = Command::from(RegisterUserCommand {
                command_id: uuid::Uuid::now_v7(),
                user_id: UserId::new(),
                details,
                password_hash,
            });
            commands
                .ask(SubmitCommand {
                    command,
                    idempotency_key,
                    fingerprint,
                    request_id,
                    traceparent,
                    reply_to,
                })
                .await
                .map_err(|e| InfraError::new("command store", e))?
                .map_err(AccountError::from)
        })
    }
}

::actors::instrument!(RegistrationService: RegisterUser);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RegistrationForm;

    fn form(password: &str) -> (NewUserDetails, Password) {
        RegistrationForm::parse(
            "a@example.com",
            "alice",
            "Alice",
            "Smith",
            password.to_owned(),
        )
        .unwrap()
    }

    #[test]
    fn fingerprints_tell_same_from_different_requests() {
        let (d1, p1) = form("correct horse battery");
        let (d2, p2) = form("correct horse battery");
        let (d3, p3) = form("another password 1");
        assert_eq!(fingerprint(b"k", &d1, &p1), fingerprint(b"k", &d2, &p2));
        assert_ne!(fingerprint(b"k", &d1, &p1), fingerprint(b"k", &d3, &p3));
        assert_ne!(
            fingerprint(b"k1", &d1, &p1),
            fingerprint(b"k2", &d1, &p1),
            "keyed"
        );
        assert_eq!(fingerprint(b"k", &d1, &p1).len(), 32);
    }
}
