//! Password recovery and email verification, API side: parse, look the token up, check the
//! password policy, hash, then record a command for the workers — like every state change.
//!
//! A reset request is answered the same way (202, same body, no wait for the worker) whether or
//! not the address belongs to an account: the API does the same work for both (parse, record a
//! command), and the worker decides, out of sight, whether a mail goes out.

use super::account::{Origin, submit};
use super::commands::{
    Command, RequestEmailVerificationCommand, RequestPasswordResetCommand, ResetPasswordCommand,
    VerifyEmailCommand,
};
use super::one_time_token::{TokenPurpose, hash_token};
use super::ports::{
    FindCredentials, HashNewPassword, InfraError, NewPasswordRefused, Submission, SubmitCommand,
};
use crate::domain::{Email, FieldError, Password, Principal, UserId, ValidationErrors, can_manage};
use ::actors::Port;
use actix::prelude::*;
use uuid::Uuid;

// ---- commands (the wire contract to the workers: ids and hashes, never a token) -----------

// ---- the port to the token table ---------------------------------------------------------

/// A live token (unused, not superseded, not expired, account active) with this hash.
#[derive(Message)]
#[rtype(result = "Result<Option<LiveToken>, InfraError>")]
pub struct FindLiveToken {
    pub purpose: TokenPurpose,
    pub token_hash: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct LiveToken {
    pub id: Uuid,
    pub user_id: UserId,
}

// ---- use cases -----------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("the token is invalid, expired or already used")]
    InvalidToken,
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// Not the caller's account and the caller is no admin: existence is not revealed.
    #[error("user not found")]
    NotFound,
    /// The new password is in the breached-password corpus.
    #[error("the password appears in known data breaches")]
    BreachedPassword,
    /// The breach check failed and the policy is to refuse then.
    #[error("the password could not be checked against known breaches")]
    Unscreened,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<MailboxError> for RecoveryError {
    fn from(e: MailboxError) -> Self {
        RecoveryError::Infra(InfraError::new("recovery actor", e))
    }
}

#[derive(Message)]
#[rtype(result = "Result<(), RecoveryError>")]
pub struct RequestPasswordReset {
    pub email: String,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<Submission, RecoveryError>")]
pub struct ConfirmPasswordReset {
    pub token: String,
    pub new_password: String,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<Submission, RecoveryError>")]
pub struct VerifyEmail {
    pub token: String,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<Submission, RecoveryError>")]
pub struct ResendVerification {
    pub principal: Principal,
    /// Whose address: the caller's own, or (an admin) anyone's.
    pub user_id: UserId,
    pub origin: Origin,
}

#[derive(Clone)]
pub struct RecoveryPorts {
    pub commands: Port<SubmitCommand>,
    pub tokens: Port<FindLiveToken>,
    pub credentials: Port<FindCredentials>,
    pub hash: Port<HashNewPassword>,
}

pub struct RecoveryService {
    ports: RecoveryPorts,
}

impl RecoveryService {
    pub fn new(ports: RecoveryPorts) -> Self {
        Self { ports }
    }
}

impl Actor for RecoveryService {
    type Context = Context<Self>;
}

impl Supervised for RecoveryService {}

/// The live token with the presented value's hash; `invalid` when there is none.
pub(super) async fn live_token<E: From<InfraError> + From<MailboxError>>(
    tokens: &Port<FindLiveToken>,
    purpose: TokenPurpose,
    token: &str,
    invalid: E,
) -> Result<LiveToken, E> {
    let found = tokens
        .ask(FindLiveToken {
            purpose,
            token_hash: hash_token(token),
        })
        .await??;
    found.ok_or(invalid)
}

impl Handler<RequestPasswordReset> for RecoveryService {
    type Result = ResponseFuture<Result<(), RecoveryError>>;

    fn handle(&mut self, msg: RequestPasswordReset, _: &mut Context<Self>) -> Self::Result {
        let commands = self.ports.commands.clone();
        Box::pin(async move {
            let email = Email::parse(&msg.email).map_err(|e| RecoveryError::Invalid(e.into()))?;
            let command = Command::from(RequestPasswordResetCommand {
                command_id: Uuid::now_v7(),
                email,
            });
            // Not awaited (no reply queue): its outcome is the same for every address anyway.
            let origin = Origin {
                reply_to: None,
                ..msg.origin
            };
            submit::<RecoveryError>(&commands, command, origin).await?;
            Ok(())
        })
    }
}

impl Handler<ConfirmPasswordReset> for RecoveryService {
    type Result = ResponseFuture<Result<Submission, RecoveryError>>;

    fn handle(&mut self, msg: ConfirmPasswordReset, _: &mut Context<Self>) -> Self::Result {
        let ports = self.ports.clone();
        Box::pin(async move {
            let token = live_token(
                &ports.tokens,
                TokenPurpose::PasswordReset,
                &msg.token,
                RecoveryError::InvalidToken,
            )
            .await?;
            let account = ports
                .credentials
                .ask(FindCredentials::ById(token.user_id))
                .await??
                .ok_or(RecoveryError::InvalidToken)?;
            let invalid = |e: FieldError| {
                RecoveryError::Invalid(
                    FieldError {
                        field: "new_password",
                        ..e
                    }
                    .into(),
                )
            };
            let password = Password::parse(msg.new_password).map_err(invalid)?;
            // Strength is checked on the hashing pool, with the hash (HashNewPassword).
            let password_hash = ports
                .hash
                .ask(HashNewPassword {
                    password,
                    username: account.username,
                    email: account.email,
                })
                .await??
                .map_err(|refused| match refused {
                    NewPasswordRefused::Weak(weak) => invalid(weak),
                    NewPasswordRefused::Breached => RecoveryError::BreachedPassword,
                    NewPasswordRefused::Unscreened => RecoveryError::Unscreened,
                })?;
            let command = Command::from(ResetPasswordCommand {
                command_id: Uuid::now_v7(),
                token_id: token.id,
                password_hash,
            });
            submit(&ports.commands, command, msg.origin).await
        })
    }
}

impl Handler<VerifyEmail> for RecoveryService {
    type Result = ResponseFuture<Result<Submission, RecoveryError>>;

    fn handle(&mut self, msg: VerifyEmail, _: &mut Context<Self>) -> Self::Result {
        let ports = self.ports.clone();
        Box::pin(async move {
            let token = live_token(
                &ports.tokens,
                TokenPurpose::EmailVerification,
                &msg.token,
                RecoveryError::InvalidToken,
            )
            .await?;
            let command = Command::from(VerifyEmailCommand {
                command_id: Uuid::now_v7(),
                token_id: token.id,
            });
            submit(&ports.commands, command, msg.origin).await
        })
    }
}

impl Handler<ResendVerification> for RecoveryService {
    type Result = ResponseFuture<Result<Submission, RecoveryError>>;

    fn handle(&mut self, msg: ResendVerification, _: &mut Context<Self>) -> Self::Result {
        let commands = self.ports.commands.clone();
        Box::pin(async move {
            if !can_manage(&msg.principal, msg.user_id) {
                return Err(RecoveryError::NotFound);
            }
            let command = Command::from(RequestEmailVerificationCommand {
                command_id: Uuid::now_v7(),
                user_id: msg.user_id,
            });
            submit(&commands, command, msg.origin).await
        })
    }
}

::actors::instrument!(
    RecoveryService: RequestPasswordReset,
    ConfirmPasswordReset,
    VerifyEmail,
    ResendVerification
);
