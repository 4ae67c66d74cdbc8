//! Ports as message protocols. Infrastructure actors implement them; application actors and HTTP
//! handlers hold `::actors::Port<Message>` handles and never name a concrete actor.

use super::commands::{Command, CommandRecord, CommandResult, RegisterUserCommand};
use crate::domain::{Password, PasswordHash, User, UserId};
use actix::Message;
use std::time::Duration;
use uuid::Uuid;

/// An infrastructure failure (database or broker unreachable, timeout). Opaque on purpose: the
/// cause chain is logged where it happens, callers only need to know it was not their fault.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InfraError(pub String);

impl InfraError {
    pub fn new(context: &str, error: impl std::fmt::Display) -> Self {
        Self(format!("{context}: {error}"))
    }
}

/// Hash a password on the hashing pool (bcrypt is CPU-bound and must not block other actors).
#[derive(Message)]
#[rtype(result = "Result<PasswordHash, InfraError>")]
pub struct HashPassword {
    pub password: Password,
}

/// Record a command and its outbox message in one transaction.
#[derive(Message)]
#[rtype(result = "Result<Submission, InfraError>")]
pub struct SubmitCommand {
    pub command: Command,
    pub idempotency_key: Option<String>,
    pub fingerprint: Option<Vec<u8>>,
    /// Extra AMQP headers (request id, reply-to queue) carried with the message.
    pub request_id: Option<String>,
    pub reply_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Accepted {
        command_id: Uuid,
    },
    /// The idempotency key was seen before with the same request: the original command.
    Replayed {
        command_id: Uuid,
    },
    /// The idempotency key was seen before with a different request.
    KeyReused,
}

#[derive(Message)]
#[rtype(result = "Result<Option<CommandRecord>, InfraError>")]
pub struct GetCommand {
    pub id: Uuid,
}

#[derive(Message)]
#[rtype(result = "Result<Option<User>, InfraError>")]
pub struct GetUser {
    pub id: UserId,
}

/// Worker side: apply a registration exactly once (user + command outcome + event, one transaction).
#[derive(Message)]
#[rtype(result = "Result<CommandResult, InfraError>")]
pub struct ApplyRegistration {
    pub command: RegisterUserCommand,
}

/// Wait until the command is no longer pending, or `wait` has passed; returns the latest record.
#[derive(Message)]
#[rtype(result = "Result<Option<CommandRecord>, InfraError>")]
pub struct AwaitCompletion {
    pub command_id: Uuid,
    pub wait: Duration,
}
