//! TOTP enrolment, confirmation and removal, API side. Each is a command through RabbitMQ like
//! every other account change; what the commands carry is chosen so that no secret travels:
//! enrolment carries the secret *sealed* (ChaCha20-Poly1305 ciphertext under
//! `DATA_ENCRYPTION_KEY`), confirmation carries the SHA-256 of each recovery code. The plaintext
//! secret and recovery codes exist only in this process and in the HTTP response, once.

use super::account::{AccountError, Origin, submit};
use super::commands::{Command, ConfirmTotpCommand, DisableTotpCommand, EnrolTotpCommand};
use super::mfa_ports::{FindTotp, SecretCipher};
use super::ports::{FindCredentials, InfraError, Submission, SubmitCommand, VerifyPassword};
use crate::domain::totp::{self, TotpSecret};
use crate::domain::{FieldError, Password, Principal};
use ::actors::Port;
use actix::prelude::*;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("two-factor authentication is already enabled")]
    AlreadyEnabled,
    #[error("no pending TOTP enrolment")]
    NotPending,
    #[error("two-factor authentication is not enabled")]
    NotEnabled,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<InfraError> for MfaError {
    fn from(e: InfraError) -> Self {
        MfaError::Account(e.into())
    }
}

impl From<MailboxError> for MfaError {
    fn from(e: MailboxError) -> Self {
        MfaError::Account(e.into())
    }
}

fn invalid(field: &'static str, code: &'static str, message: &str) -> MfaError {
    MfaError::Account(AccountError::Invalid(
        FieldError::new(field, code, message).into(),
    ))
}

/// What the user must store: shown once.
#[derive(Debug)]
pub struct Enrolment {
    pub submission: Submission,
    pub secret: TotpSecret,
    pub otpauth_uri: String,
}

#[derive(Message)]
#[rtype(result = "Result<Enrolment, MfaError>")]
pub struct StartTotpEnrolment {
    pub principal: Principal,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<(Submission, Vec<String>), MfaError>")]
pub struct ConfirmTotp {
    pub principal: Principal,
    pub code: String,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<Submission, MfaError>")]
pub struct DisableTotp {
    pub principal: Principal,
    pub password: String,
    pub origin: Origin,
}

#[derive(Clone)]
pub struct MfaPorts {
    pub commands: Port<SubmitCommand>,
    pub find_totp: Port<FindTotp>,
    pub credentials: Port<FindCredentials>,
    pub verify: Port<VerifyPassword>,
}

pub struct MfaService {
    ports: MfaPorts,
    cipher: Arc<dyn SecretCipher>,
    issuer: String,
}

impl MfaService {
    pub fn new(ports: MfaPorts, cipher: Arc<dyn SecretCipher>, issuer: String) -> Self {
        Self {
            ports,
            cipher,
            issuer,
        }
    }
}

impl Actor for MfaService {
    type Context = Context<Self>;
}

impl Supervised for MfaService {}

/// Cryptographically secure random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    bytes
}

/// A recovery code: 10 base32 characters (50 random bits) as `xxxxx-xxxxx`.
fn new_recovery_code() -> String {
    let bytes = random_bytes::<7>();
    let text = data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase();
    format!("{}-{}", &text[..5], &text[5..10])
}

/// How recovery codes are stored and looked up: lower-case, without spaces or dashes, SHA-256.
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

impl Handler<StartTotpEnrolment> for MfaService {
    type Result = ResponseFuture<Result<Enrolment, MfaError>>;

    fn handle(&mut self, msg: StartTotpEnrolment, _: &mut Context<Self>) -> Self::Result {
        let (ports, cipher, issuer) =
            (self.ports.clone(), self.cipher.clone(), self.issuer.clone());
        Box::pin(async move {
            let user_id = msg.principal.user_id;
            let current = ports.find_totp.ask(FindTotp { user_id }).await??;
            if current.is_some_and(|t| t.confirmed) {
                return Err(MfaError::AlreadyEnabled);
            }
            let secret = TotpSecret::from_bytes(random_bytes::<{ totp::SECRET_BYTES }>().to_vec());
            let sealed_secret = cipher.seal(secret.as_bytes(), user_id.as_uuid().as_bytes());
            let command = Command::from(EnrolTotpCommand {
                command_id: Uuid::now_v7(),
                user_id,
                sealed_secret,
            });
            let submission = submit::<MfaError>(&ports.commands, command, msg.origin).await?;
            let otpauth_uri = secret.otpauth_uri(&issuer, &msg.principal.email);
            Ok(Enrolment {
                submission,
                secret,
                otpauth_uri,
            })
        })
    }
}

impl Handler<ConfirmTotp> for MfaService {
    type Result = ResponseFuture<Result<(Submission, Vec<String>), MfaError>>;

    fn handle(&mut self, msg: ConfirmTotp, _: &mut Context<Self>) -> Self::Result {
        let (ports, cipher) = (self.ports.clone(), self.cipher.clone());
        Box::pin(async move {
            let user_id = msg.principal.user_id;
            let record = ports
                .find_totp
                .ask(FindTotp { user_id })
                .await??
                .ok_or(MfaError::NotPending)?;
            if record.confirmed {
                return Err(MfaError::AlreadyEnabled);
            }
            let secret = cipher
                .open(&record.sealed_secret, user_id.as_uuid().as_bytes())
                .map(TotpSecret::from_bytes)
                .ok_or_else(|| {
                    InfraError::new("TOTP secret", "does not decrypt with DATA_ENCRYPTION_KEY")
                })?;
            let step = totp::verify(&secret, &msg.code, chrono::Utc::now().timestamp(), None)
                .ok_or_else(|| invalid("code", "incorrect", "the code is not correct"))?;
            let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
            let command = Command::from(ConfirmTotpCommand {
                command_id: Uuid::now_v7(),
                user_id,
                sealed_secret: record.sealed_secret,
                step,
                recovery_code_hashes: codes.iter().map(|c| recovery_code_hash(c)).collect(),
            });
            let submission = submit::<MfaError>(&ports.commands, command, msg.origin).await?;
            Ok((submission, codes))
        })
    }
}

impl Handler<DisableTotp> for MfaService {
    type Result = ResponseFuture<Result<Submission, MfaError>>;

    fn handle(&mut self, msg: DisableTotp, _: &mut Context<Self>) -> Self::Result {
        let ports = self.ports.clone();
        Box::pin(async move {
            let user_id = msg.principal.user_id;
            let account = ports
                .credentials
                .ask(FindCredentials::ById(user_id))
                .await??
                .ok_or(MfaError::Account(AccountError::NotFound))?;
            let wrong = || invalid("password", "incorrect", "the password is not correct");
            let password = Password::presented(msg.password).map_err(|_| wrong())?;
            let matches = ports
                .verify
                .ask(VerifyPassword {
                    password,
                    hash: account.password_hash,
                })
                .await??
                .matches();
            if !matches {
                return Err(wrong());
            }
            let enabled = ports.find_totp.ask(FindTotp { user_id }).await??;
            if enabled.is_none() {
                return Err(MfaError::NotEnabled);
            }
            let command = Command::from(DisableTotpCommand {
                command_id: Uuid::now_v7(),
                user_id,
            });
            submit::<MfaError>(&ports.commands, command, msg.origin).await
        })
    }
}

::actors::instrument!(MfaService: StartTotpEnrolment, ConfirmTotp, DisableTotp);
