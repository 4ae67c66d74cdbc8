//! Ports as message protocols. Infrastructure actors implement them; application actors and HTTP
//! handlers hold `::actors::Port<Message>` handles and never name a concrete actor.

use super::commands::{Command, CommandRecord, CommandResult};
use crate::domain::{Password, PasswordHash, User, UserId};
use actix::Message;
use actors::ErrorChain;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// An infrastructure failure (database or broker unreachable, timeout, corrupt row). Opaque to
/// callers on purpose (it was not their fault), but it keeps its cause chain: `Display` is only
/// the context, `source()` the underlying error, and [`InfraError::report`] the whole chain for
/// the log. The source sits behind an `Arc` because actor replies and errors are cloned.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{context}")]
pub struct InfraError {
    context: Cow<'static, str>,
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl InfraError {
    /// `context`: what we were doing; `error`: why it failed (an error, or a plain message).
    pub fn new(
        context: impl Into<Cow<'static, str>>,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(Arc::from(error.into())),
        }
    }

    /// A failure with no underlying error (e.g. a row that does not parse).
    pub fn msg(context: impl Into<Cow<'static, str>>) -> Self {
        Self {
            context: context.into(),
            source: None,
        }
    }
}

/// Two infrastructure errors are equal when they read the same (causes are not comparable).
impl PartialEq for InfraError {
    fn eq(&self, other: &Self) -> bool {
        ErrorChain(self).to_string() == ErrorChain(other).to_string()
    }
}

impl Eq for InfraError {}

/// Hash a password on the hashing pool (Argon2id and bcrypt are CPU-bound and must not block other
/// actors), with the configured algorithm: a login's re-hash.
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
    /// W3C `traceparent` of the request that caused the command.
    pub traceparent: Option<String>,
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

/// Takes one request from a client's rate, shared by every API replica: `Ok(Err(wait))` when
/// the client must wait. GCRA: one request per `interval`, at most `burst` at once.
#[derive(Message)]
#[rtype(result = "Result<Result<(), Duration>, InfraError>")]
pub struct TakeRequest {
    pub client: String,
    pub interval: Duration,
    pub burst: u32,
}

#[derive(Message)]
#[rtype(result = "Result<Option<CommandRecord>, InfraError>")]
pub struct GetCommand {
    pub id: Uuid,
}

/// The latest commands applied to a user, newest first (the admin console's history and
/// `GET /api/v1/users/{id}/commands`). A command refused before it named a user has no subject
/// and is not listed.
#[derive(Message)]
#[rtype(result = "Result<Vec<CommandRecord>, InfraError>")]
pub struct ListUserCommands {
    pub user_id: UserId,
    pub limit: u32,
}

#[derive(Message)]
#[rtype(result = "Result<Option<User>, InfraError>")]
pub struct GetUser {
    pub id: UserId,
}

/// Worker side: apply a command exactly once (state change + command outcome + event, one
/// transaction), whatever the number of deliveries.
#[derive(Message)]
#[rtype(result = "Result<CommandResult, InfraError>")]
pub struct ApplyCommand {
    pub command: Command,
}

/// A page of users in a stable order (created_at, id).
#[derive(Message)]
#[rtype(result = "Result<UserPage, InfraError>")]
pub struct ListUsers {
    pub limit: u32,
    pub after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
    pub offset: Option<u64>,
    /// Only users whose email or username starts with this, ignoring case.
    pub prefix: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<User>,
    pub has_more: bool,
}

/// Wait until the command is no longer pending, or `wait` has passed; returns the latest record.
#[derive(Message)]
#[rtype(result = "Result<Option<CommandRecord>, InfraError>")]
pub struct AwaitCompletion {
    pub command_id: Uuid,
    pub wait: Duration,
}

/// Issues and verifies access tokens. A trait rather than an actor: signing and verifying are a
/// few microseconds of pure CPU with no I/O, and every authenticated request needs one.
pub trait TokenService: Send + Sync {
    fn issue_access(&self, principal: &crate::domain::Principal)
    -> Result<IssuedToken, InfraError>;
    fn verify_access(&self, token: &str) -> Result<VerifiedToken, TokenRejected>;
    /// The public keys, as a JSON Web Key Set (empty for HMAC: a shared secret is never published).
    fn jwks(&self) -> serde_json::Value;
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What a valid token says; still to be checked against revocation (the session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: UserId,
    pub session_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token rejected: {0}")]
pub struct TokenRejected(pub String);

// ---- the auth context ----------------------------------------------------------------------

/// What login needs to know about an account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: UserId,
    pub email: String,
    pub username: String,
    pub role: crate::domain::Role,
    pub is_active: bool,
    pub password_hash: PasswordHash,
    pub email_verified: bool,
}

#[derive(Message)]
#[rtype(result = "Result<Option<Credentials>, InfraError>")]
pub enum FindCredentials {
    ByEmail(String),
    ById(UserId),
}

/// Check a password against a hash on the hashing pool, whichever algorithm made the hash.
#[derive(Message)]
#[rtype(result = "Result<Verified, InfraError>")]
pub struct VerifyPassword {
    pub password: Password,
    pub hash: PasswordHash,
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    /// The normalised password matches.
    Yes,
    /// Only the password *as typed* matches: a hash made before passwords were normalised. Right,
    /// and to be re-hashed from the normalised form at the next chance (a login).
    AsTyped,
}

impl Verified {
    pub fn matches(self) -> bool {
        self != Verified::No
    }
}

/// Re-hash at login after the configured algorithm or cost changed, or for a hash of the
/// non-normalised password (a maintenance write, not a command).
#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub struct UpgradePasswordHash {
    pub user_id: UserId,
    pub old_hash: PasswordHash,
    pub new_hash: PasswordHash,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub session_id: Uuid,
    pub refresh_token: String,
    pub refresh_expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Message)]
#[rtype(result = "Result<RefreshGrant, InfraError>")]
pub struct StartSession {
    pub user_id: UserId,
    pub refresh_ttl: Duration,
    pub client: super::client_info::ClientInfo,
}

#[derive(Debug, Clone)]
pub enum Rotation {
    Rotated {
        principal: crate::domain::Principal,
        grant: RefreshGrant,
    },
    /// Unknown, expired, revoked, or the account is inactive.
    Invalid,
    /// A used token came back: its whole session family is now revoked.
    ReuseDetected,
}

#[derive(Message)]
#[rtype(result = "Result<Rotation, InfraError>")]
pub struct RotateRefreshToken {
    pub token: String,
    pub refresh_ttl: Duration,
    /// Recorded on the session, with the time of use.
    pub client: super::client_info::ClientInfo,
    /// The OAuth client whose grant this token must belong to; `None`: a REST API session. A
    /// token of the one kind is refused as the other: an OAuth client must not turn its
    /// (scoped) refresh token into a REST API session, nor the reverse.
    pub oauth_client: Option<Uuid>,
}

#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub enum RevokeSessions {
    One(Uuid),
    AllOf(UserId),
}

/// Is this session still valid (not revoked, account active)? Cached briefly per replica.
#[derive(Message)]
#[rtype(result = "Result<Option<crate::domain::Principal>, InfraError>")]
pub struct CheckSession {
    pub session_id: Uuid,
    pub user_id: UserId,
}

/// When may these keys try again? `None`: not locked.
#[derive(Message)]
#[rtype(result = "Result<Option<Duration>, InfraError>")]
pub struct CheckLoginThrottle {
    pub keys: Vec<String>,
}

/// Count a failed login against each key; returns the lock just imposed, if any.
#[derive(Message)]
#[rtype(result = "Result<Option<Duration>, InfraError>")]
pub struct RecordLoginFailure {
    pub keys: Vec<(String, crate::domain::LockoutPolicy)>,
}

#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub struct ClearLoginFailures {
    pub key: String,
}

/// Check a new password's strength, screen it against breached passwords, then hash it, in one
/// trip to the hashing pool. The strength check (zxcvbn) costs about as much CPU as bcrypt at a
/// low cost factor, so it runs where the hashing runs, on the pool's own threads, never on an
/// HTTP worker or the use case's arbiter; the screening's I/O runs off both (see
/// `infrastructure::breached_passwords`); and every path that sets a password (registration,
/// change, reset, and the pages' forms for them) asks for it the same way.
///
/// The outer `Result` is the pool's health; the inner one is the verdict, see
/// [`NewPasswordRefused`].
#[derive(Message)]
#[rtype(result = "Result<Result<PasswordHash, NewPasswordRefused>, InfraError>")]
pub struct HashNewPassword {
    pub password: Password,
    /// The account's own username and email: a password containing either is refused.
    pub username: String,
    pub email: String,
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewPasswordRefused {
    /// Too guessable, or too long for the configured algorithm (field `password`: callers
    /// rename it to their own field); a 422 validation error.
    Weak(crate::domain::FieldError),
    /// It is in the breached-password corpus; a 422 of its own type.
    Breached,
    /// The breach check failed and `BREACHED_PASSWORDS_ON_ERROR=deny`; a 503.
    Unscreened,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Refused;

    #[derive(Debug, thiserror::Error)]
    #[error("pool timed out")]
    struct PoolTimeout(#[source] Refused);

    #[test]
    fn the_cause_chain_survives_cloning_and_is_reported_whole() {
        let error = InfraError::new("reading a user", PoolTimeout(Refused)).clone();
        assert_eq!(error.to_string(), "reading a user");
        assert_eq!(error.source().unwrap().to_string(), "pool timed out");
        assert_eq!(
            ErrorChain(&error).to_string(),
            "reading a user: pool timed out: connection refused"
        );
        assert_eq!(
            ErrorChain(&InfraError::new("TOTP secret", "does not decrypt")).to_string(),
            "TOTP secret: does not decrypt"
        );
        assert!(InfraError::msg("corrupt row").source().is_none());
    }
}
