//! Account changes, API side: authorise, validate, then record a command for the workers
//! (profile update, deactivation, password change), exactly like registration.

use super::commands::{
    ChangePasswordCommand, Command, DeactivateUserCommand, ProfileChanges, UpdateUserCommand,
};
use super::ports::*;
use crate::domain::{FieldError, Password, Principal, UserId, ValidationErrors, can_manage};
use ::actors::Port;
use actix::prelude::*;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not found, or not yours: the two are indistinguishable on purpose.
    #[error("user not found")]
    NotFound,
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// The new password is in the breached-password corpus (`field`: the request's field).
    #[error("the password appears in known data breaches")]
    BreachedPassword { field: &'static str },
    /// The breach check failed and the policy is to refuse then.
    #[error("the password could not be checked against known breaches")]
    Unscreened,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl AccountError {
    /// The answer to a refused new password sent in `field`.
    pub fn refused(refusal: NewPasswordRefused, field: &'static str) -> Self {
        match refusal {
            NewPasswordRefused::Weak(weak) => AccountError::Invalid(weak.into()),
            NewPasswordRefused::Breached => AccountError::BreachedPassword { field },
            NewPasswordRefused::Unscreened => AccountError::Unscreened,
        }
    }
}

impl From<MailboxError> for AccountError {
    fn from(e: MailboxError) -> Self {
        AccountError::Infra(InfraError::new("account actor", e))
    }
}

/// Where the outcome notice should go, and which request caused it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub request_id: Option<String>,
    /// The W3C `traceparent` of the request, carried with the command to the worker.
    pub traceparent: Option<String>,
    pub reply_to: Option<String>,
}

#[derive(Message)]
#[rtype(result = "Result<Submission, AccountError>")]
pub struct UpdateProfile {
    pub principal: Principal,
    pub user_id: UserId,
    pub changes: ProfileChanges,
    pub expected_version: Option<i64>,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<Submission, AccountError>")]
pub struct DeactivateAccount {
    pub principal: Principal,
    pub user_id: UserId,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<Submission, AccountError>")]
pub struct ChangePassword {
    pub principal: Principal,
    pub user_id: UserId,
    pub current_password: String,
    pub new_password: String,
    pub origin: Origin,
}

pub struct AccountService {
    commands: Port<SubmitCommand>,
    credentials: Port<FindCredentials>,
    verify: Port<VerifyPassword>,
    hash: Port<HashNewPassword>,
}

impl AccountService {
    pub fn new(
        commands: Port<SubmitCommand>,
        credentials: Port<FindCredentials>,
        verify: Port<VerifyPassword>,
        hash: Port<HashNewPassword>,
    ) -> Self {
        Self {
            commands,
            credentials,
            verify,
            hash,
        }
    }
}

impl AccountService {
    pub(super) fn commands(&self) -> Port<SubmitCommand> {
        self.commands.clone()
    }
}

impl Actor for AccountService {
    type Context = Context<Self>;
}

impl Supervised for AccountService {}

/// Records a command (and its outbox message) for the workers; shared by the account and
/// recovery use cases.
pub(crate) async fn submit<E: From<InfraError> + From<MailboxError>>(
    commands: &Port<SubmitCommand>,
    command: Command,
    origin: Origin,
) -> Result<Submission, E> {
    let kind = command.kind();
    let submission = commands
        .ask(SubmitCommand {
            command,
            idempotency_key: None,
            fingerprint: None,
            request_id: origin.request_id,
            traceparent: origin.traceparent,
            reply_to: origin.reply_to,
        })
        .await??;
    tracing::info!(kind, ?submission, "account command recorded");
    Ok(submission)
}

impl Handler<UpdateProfile> for AccountService {
    type Result = ResponseFuture<Result<Submission, AccountError>>;

    fn handle(&mut self, msg: UpdateProfile, _: &mut Context<Self>) -> Self::Result {
        let commands = self.commands.clone();
        Box::pin(async move {
            if !can_manage(&msg.principal, msg.user_id) {
                return Err(AccountError::NotFound);
            }
            let command = Command::from(UpdateUserCommand {
                command_id: Uuid::now_v7(),
                user_id: msg.user_id,
                changes: msg.changes,
                expected_version: msg.expected_version,
            });
            submit(&commands, command, msg.origin).await
        })
    }
}

impl Handler<DeactivateAccount> for AccountService {
    type Result = ResponseFuture<Result<Submission, AccountError>>;

    fn handle(&mut self, msg: DeactivateAccount, _: &mut Context<Self>) -> Self::Result {
        let commands = self.commands.clone();
        Box::pin(async move {
            if !can_manage(&msg.principal, msg.user_id) {
                return Err(AccountError::NotFound);
            }
            let command = Command::from(DeactivateUserCommand {
                command_id: Uuid::now_v7(),
                user_id: msg.user_id,
            });
            submit(&commands, command, msg.origin).await
        })
    }
}

impl Handler<ChangePassword> for AccountService {
    type Result = ResponseFuture<Result<Submission, AccountError>>;

    fn handle(&mut self, msg: ChangePassword, _: &mut Context<Self>) -> Self::Result {
        let (commands, credentials, verify, hash) = (
            self.commands.clone(),
            self.credentials.clone(),
            self.verify.clone(),
            self.hash.clone(),
        );
        Box::pin(async move {
            // Only the account holder, who knows the current password, may change it.
            if msg.principal.user_id != msg.user_id {
                return Err(AccountError::NotFound);
            }
            let account = credentials
                .ask(FindCredentials::ById(msg.user_id))
                .await??
                .ok_or(AccountError::NotFound)?;
            let wrong_current = || {
                AccountError::Invalid(
                    FieldError::new(
                        "current_password",
                        "incorrect",
                        "the current password is not correct",
                    )
                    .into(),
                )
            };
            let current = Password::presented(msg.current_password).map_err(|_| wrong_current())?;
            if !verify
                .ask(VerifyPassword {
                    password: current,
                    hash: account.password_hash,
                })
                .await??
                .matches()
            {
                return Err(wrong_current());
            }
            let new_password =
                Password::parse(msg.new_password).map_err(|e| AccountError::Invalid(e.into()))?;
            // Strength is checked on the hashing pool, with the hash (HashNewPassword).
            let password_hash = hash
                .ask(HashNewPassword {
                    password: new_password,
                    username: account.username,
                    email: account.email,
                })
                .await??
                .map_err(|refused| AccountError::refused(refused, "new_password"))?;
            let command = Command::from(ChangePasswordCommand {
                command_id: Uuid::now_v7(),
                user_id: msg.user_id,
                password_hash,
                keep_session: Some(msg.principal.session_id),
            });
            submit(&commands, command, msg.origin).await
        })
    }
}

::actors::instrument!(AccountService: UpdateProfile, DeactivateAccount, ChangePassword);

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
