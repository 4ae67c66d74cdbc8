//! Email change with re-verification, API side: the account holder asks with their password;
//! the new address must be proved by a link mailed there, and the old address gets a notice with
//! a link that undoes the change. Each step records a command for the workers.
//!
//! The request answers the same (202) whether or not another account uses the new address: the
//! worker decides, out of sight, whether a link goes there. A wrong password is counted like a
//! failed login, against the account and the client address, and a locked account or address is
//! refused before the password is even checked — an access token must not become a way around
//! the lockout.

use super::account::{Origin, submit};
use super::commands::{
    ChangeEmailCommand, Command, ConfirmEmailChangeCommand, RevertEmailChangeCommand,
};
use super::one_time_token::TokenPurpose;
use super::ports::{
    CheckLoginThrottle, FindCredentials, InfraError, RecordLoginFailure, Submission, SubmitCommand,
    VerifyPassword,
};
use super::recovery::{FindLiveToken, live_token};
use crate::domain::{Email, FieldError, LockoutPolicy, Password, Principal};
use ::actors::Port;
use actix::prelude::*;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    #[error("the password is not correct")]
    WrongPassword,
    #[error("too many failed attempts; try again later")]
    Locked { retry_after: Duration },
    #[error("the token is invalid, expired or already used")]
    InvalidToken,
    #[error("invalid input")]
    Invalid(crate::domain::ValidationErrors),
    /// The caller's account is gone (deactivated since the token was issued).
    #[error("user not found")]
    NotFound,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<MailboxError> for EmailChangeError {
    fn from(e: MailboxError) -> Self {
        EmailChangeError::Infra(InfraError::new("email-change actor", e))
    }
}

/// `POST /users/me/email`: the caller asks to move their account to `new_email`.
#[derive(Message)]
#[rtype(result = "Result<Submission, EmailChangeError>")]
pub struct RequestEmailChange {
    pub principal: Principal,
    pub new_email: String,
    pub password: String,
    /// For the failed-attempt count, as at login.
    pub client_address: String,
    pub origin: Origin,
}

/// The link mailed to the new address was followed.
#[derive(Message)]
#[rtype(result = "Result<Submission, EmailChangeError>")]
pub struct ConfirmEmailChange {
    pub token: String,
    pub origin: Origin,
}

/// The link mailed to the old address was followed.
#[derive(Message)]
#[rtype(result = "Result<Submission, EmailChangeError>")]
pub struct RevertEmailChange {
    pub token: String,
    pub origin: Origin,
}

#[derive(Clone)]
pub struct EmailChangePorts {
    pub commands: Port<SubmitCommand>,
    pub tokens: Port<FindLiveToken>,
    pub credentials: Port<FindCredentials>,
    pub verify: Port<VerifyPassword>,
    pub check_throttle: Port<CheckLoginThrottle>,
    pub record_failure: Port<RecordLoginFailure>,
}

/// The lockouts a wrong password counts towards (the login's).
#[derive(Clone, Debug)]
pub struct Lockouts {
    pub per_account: LockoutPolicy,
    pub per_address: LockoutPolicy,
}

pub struct EmailChangeService {
    ports: EmailChangePorts,
    lockouts: Lockouts,
}

impl EmailChangeService {
    pub fn new(ports: EmailChangePorts, lockouts: Lockouts) -> Self {
        Self { ports, lockouts }
    }
}

impl Actor for EmailChangeService {
    type Context = Context<Self>;
}

impl Supervised for EmailChangeService {}

impl Handler<RequestEmailChange> for EmailChangeService {
    type Result = ResponseFuture<Result<Submission, EmailChangeError>>;

    fn handle(&mut self, msg: RequestEmailChange, _: &mut Context<Self>) -> Self::Result {
        let (ports, lockouts) = (self.ports.clone(), self.lockouts.clone());
        Box::pin(async move {
            let new_email = Email::parse(&msg.new_email).map_err(|e| {
                EmailChangeError::Invalid(
                    FieldError {
                        field: "new_email",
                        ..e
                    }
                    .into(),
                )
            })?;
            let account = ports
                .credentials
                .ask(FindCredentials::ById(msg.principal.user_id))
                .await??
                .filter(|a| a.is_active)
                .ok_or(EmailChangeError::NotFound)?;
            // The same keys as login's, so failures here and there add up.
            let account_key = format!("account:{}", account.email);
            let address_key = format!("ip:{}", msg.client_address);
            let keys = vec![account_key.clone(), address_key.clone()];
            if let Some(retry_after) = ports
                .check_throttle
                .ask(CheckLoginThrottle { keys })
                .await??
            {
                return Err(EmailChangeError::Locked { retry_after });
            }
            let correct = match Password::presented(msg.password) {
                Ok(password) => ports
                    .verify
                    .ask(VerifyPassword {
                        password,
                        hash: account.password_hash,
                    })
                    .await??
                    .matches(),
                Err(_) => false,
            };
            if !correct {
                let keys = vec![
                    (account_key.clone(), lockouts.per_account),
                    (address_key, lockouts.per_address),
                ];
                let lock = ports
                    .record_failure
                    .ask(RecordLoginFailure { keys })
                    .await??;
                tracing::warn!(outcome = "invalid", account = %account_key, client = %msg.client_address, locked_for_s = lock.map(|d| d.as_secs()), "email change: wrong password");
                return Err(EmailChangeError::WrongPassword);
            }
            let command = Command::from(ChangeEmailCommand {
                command_id: Uuid::now_v7(),
                user_id: msg.principal.user_id,
                new_email,
            });
            // Not awaited: its outcome is the same whether or not the address is in use.
            let origin = Origin {
                reply_to: None,
                ..msg.origin
            };
            submit(&ports.commands, command, origin).await
        })
    }
}

impl Handler<ConfirmEmailChange> for EmailChangeService {
    type Result = ResponseFuture<Result<Submission, EmailChangeError>>;

    fn handle(&mut self, msg: ConfirmEmailChange, _: &mut Context<Self>) -> Self::Result {
        let ports = self.ports.clone();
        Box::pin(async move {
            let token = TokenPurpose::EmailChange;
            let token_id = live_token(
                &ports.tokens,
                token,
                &msg.token,
                EmailChangeError::InvalidToken,
            )
            .await?
            .id;
            let command = Command::from(ConfirmEmailChangeCommand {
                command_id: Uuid::now_v7(),
                token_id,
            });
            submit(&ports.commands, command, msg.origin).await
        })
    }
}

impl Handler<RevertEmailChange> for EmailChangeService {
    type Result = ResponseFuture<Result<Submission, EmailChangeError>>;

    fn handle(&mut self, msg: RevertEmailChange, _: &mut Context<Self>) -> Self::Result {
        let ports = self.ports.clone();
        Box::pin(async move {
            let token = TokenPurpose::EmailChangeRevert;
            let token_id = live_token(
                &ports.tokens,
                token,
                &msg.token,
                EmailChangeError::InvalidToken,
            )
            .await?
            .id;
            let command = Command::from(RevertEmailChangeCommand {
                command_id: Uuid::now_v7(),
                token_id,
            });
            submit(&ports.commands, command, msg.origin).await
        })
    }
}

::actors::instrument!(
    EmailChangeService: RequestEmailChange,
    ConfirmEmailChange,
    RevertEmailChange
);
