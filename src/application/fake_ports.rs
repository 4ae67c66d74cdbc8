//! In-memory stand-ins for the ports the application actors hold, for their unit tests (the
//! integration tests in `tests/api` run the real adapters). One actor, [`FakePorts`], answers
//! every port from a [`Script`] and records what it was asked in [`Received`]; because it is one
//! actor with one mailbox, a `tell` a use case sent is recorded before any later `ask` is answered,
//! so [`Fake::received`] after the use case returns sees everything it sent.

use crate::application::commands::Command;
use crate::application::mfa_ports::*;
use crate::application::outcomes::{AuthOutcomes, LoginResult};
use crate::application::ports::*;
use crate::domain::{PasswordHash, Principal, Role, UserId};
use ::actors::{ActorRef, Port};
use actix::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// The one password the fake hasher accepts.
pub const RIGHT_PASSWORD: &str = "correct horse battery staple";
/// Accepted only as typed (its normalised form does not match): a hash made before normalisation.
pub const TYPED_ONLY_PASSWORD: &str = "cafe\u{301} au lait, typed decomposed";
/// What the fake hasher returns for any password.
pub const NEW_HASH: &str = "$2b$12$new-hash-from-the-hashing-port";

/// How the fake answers.
#[derive(Clone)]
pub struct Script {
    /// `FindCredentials` (by email or id) finds this account, if any.
    pub account: Option<Credentials>,
    /// `CheckLoginThrottle` says the keys are locked for this long.
    pub locked_for: Option<Duration>,
    /// `FindTotp`: `Some(confirmed)` if the account has an enrolment.
    pub totp: Option<bool>,
    /// What `RotateRefreshToken` answers.
    pub rotation: Rotation,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            account: None,
            locked_for: None,
            totp: None,
            rotation: Rotation::Invalid,
        }
    }
}

/// Everything the fake was asked, in the order asked.
#[derive(Default)]
pub struct Received {
    pub throttle_checks: Vec<Vec<String>>,
    pub credential_lookups: Vec<String>,
    /// The hash each `VerifyPassword` compared against.
    pub verified_against: Vec<String>,
    pub failures_recorded: Vec<Vec<String>>,
    pub failures_cleared: Vec<String>,
    pub sessions_started: Vec<UserId>,
    pub challenges_created: Vec<UserId>,
    pub hashed: usize,
    pub hash_upgrades: Vec<(UserId, String, String)>,
    pub rotations: Vec<String>,
    pub revocations: Vec<String>,
    pub submitted: Vec<Command>,
    pub request_ids: Vec<Option<String>>,
}

pub struct FakePorts {
    script: Script,
    received: Received,
}

impl Actor for FakePorts {
    type Context = Context<Self>;
}

/// Hands over (and resets) what was received so far.
#[derive(Message)]
#[rtype(result = "Received")]
struct TakeReceived;

impl Handler<TakeReceived> for FakePorts {
    type Result = MessageResult<TakeReceived>;
    fn handle(&mut self, _: TakeReceived, _: &mut Context<Self>) -> Self::Result {
        MessageResult(std::mem::take(&mut self.received))
    }
}

impl Handler<FindCredentials> for FakePorts {
    type Result = Result<Option<Credentials>, InfraError>;
    fn handle(&mut self, msg: FindCredentials, _: &mut Context<Self>) -> Self::Result {
        let (lookup, found) = match msg {
            FindCredentials::ByEmail(email) => {
                let found = self.script.account.clone().filter(|a| a.email == email);
                (format!("email:{email}"), found)
            }
            FindCredentials::ById(id) => {
                let found = self.script.account.clone().filter(|a| a.user_id == id);
                (format!("id:{id}"), found)
            }
        };
        self.received.credential_lookups.push(lookup);
        Ok(found)
    }
}

impl Handler<VerifyPassword> for FakePorts {
    type Result = Result<Verified, InfraError>;
    fn handle(&mut self, msg: VerifyPassword, _: &mut Context<Self>) -> Self::Result {
        self.received
            .verified_against
            .push(msg.hash.as_str().to_owned());
        Ok(if msg.password.expose_secret() == RIGHT_PASSWORD {
            Verified::Yes
        } else if msg.password.as_typed() == Some(TYPED_ONLY_PASSWORD) {
            Verified::AsTyped
        } else {
            Verified::No
        })
    }
}

impl Handler<HashPassword> for FakePorts {
    type Result = Result<PasswordHash, InfraError>;
    fn handle(&mut self, _: HashPassword, _: &mut Context<Self>) -> Self::Result {
        self.received.hashed += 1;
        Ok(PasswordHash::new(NEW_HASH.into()))
    }
}

/// Like the hashing pool: the real strength rule (a pure domain function), then a hash only for a
/// strong password.
impl Handler<HashNewPassword> for FakePorts {
    type Result = Result<Result<PasswordHash, NewPasswordRefused>, InfraError>;
    fn handle(&mut self, msg: HashNewPassword, _: &mut Context<Self>) -> Self::Result {
        if let Err(weak) = crate::domain::check_strength(&msg.password, &msg.username, &msg.email) {
            return Ok(Err(NewPasswordRefused::Weak(weak)));
        }
        self.received.hashed += 1;
        Ok(Ok(PasswordHash::new(NEW_HASH.into())))
    }
}

impl Handler<UpgradePasswordHash> for FakePorts {
    type Result = Result<(), InfraError>;
    fn handle(&mut self, msg: UpgradePasswordHash, _: &mut Context<Self>) -> Self::Result {
        self.received.hash_upgrades.push((
            msg.user_id,
            msg.old_hash.into_inner(),
            msg.new_hash.into_inner(),
        ));
        Ok(())
    }
}

impl Handler<StartSession> for FakePorts {
    type Result = Result<RefreshGrant, InfraError>;
    fn handle(&mut self, msg: StartSession, _: &mut Context<Self>) -> Self::Result {
        self.received.sessions_started.push(msg.user_id);
        Ok(grant())
    }
}

impl Handler<RotateRefreshToken> for FakePorts {
    type Result = Result<Rotation, InfraError>;
    fn handle(&mut self, msg: RotateRefreshToken, _: &mut Context<Self>) -> Self::Result {
        self.received.rotations.push(msg.token);
        Ok(self.script.rotation.clone())
    }
}

impl Handler<RevokeSessions> for FakePorts {
    type Result = Result<(), InfraError>;
    fn handle(&mut self, msg: RevokeSessions, _: &mut Context<Self>) -> Self::Result {
        self.received.revocations.push(match msg {
            RevokeSessions::One(session) => format!("session:{session}"),
            RevokeSessions::AllOf(user) => format!("user:{user}"),
        });
        Ok(())
    }
}

impl Handler<CheckLoginThrottle> for FakePorts {
    type Result = Result<Option<Duration>, InfraError>;
    fn handle(&mut self, msg: CheckLoginThrottle, _: &mut Context<Self>) -> Self::Result {
        self.received.throttle_checks.push(msg.keys);
        Ok(self.script.locked_for)
    }
}

impl Handler<RecordLoginFailure> for FakePorts {
    type Result = Result<Option<Duration>, InfraError>;
    fn handle(&mut self, msg: RecordLoginFailure, _: &mut Context<Self>) -> Self::Result {
        let keys = msg.keys.into_iter().map(|(key, _)| key).collect();
        self.received.failures_recorded.push(keys);
        Ok(None)
    }
}

impl Handler<ClearLoginFailures> for FakePorts {
    type Result = Result<(), InfraError>;
    fn handle(&mut self, msg: ClearLoginFailures, _: &mut Context<Self>) -> Self::Result {
        self.received.failures_cleared.push(msg.key);
        Ok(())
    }
}

impl Handler<FindTotp> for FakePorts {
    type Result = Result<Option<TotpRecord>, InfraError>;
    fn handle(&mut self, _: FindTotp, _: &mut Context<Self>) -> Self::Result {
        Ok(self.script.totp.map(|confirmed| TotpRecord {
            sealed_secret: Vec::new(),
            confirmed,
            last_used_step: None,
        }))
    }
}

impl Handler<CreateMfaChallenge> for FakePorts {
    type Result = Result<String, InfraError>;
    fn handle(&mut self, msg: CreateMfaChallenge, _: &mut Context<Self>) -> Self::Result {
        self.received.challenges_created.push(msg.user_id);
        Ok(format!("mfa-token-for-{}", msg.user_id))
    }
}

impl Handler<ConsumeMfaChallenge> for FakePorts {
    type Result = Result<Option<UserId>, InfraError>;
    fn handle(&mut self, _: ConsumeMfaChallenge, _: &mut Context<Self>) -> Self::Result {
        Ok(None)
    }
}

impl Handler<UseTotpStep> for FakePorts {
    type Result = Result<bool, InfraError>;
    fn handle(&mut self, _: UseTotpStep, _: &mut Context<Self>) -> Self::Result {
        Ok(false)
    }
}

impl Handler<UseRecoveryCode> for FakePorts {
    type Result = Result<bool, InfraError>;
    fn handle(&mut self, _: UseRecoveryCode, _: &mut Context<Self>) -> Self::Result {
        Ok(false)
    }
}

impl Handler<SubmitCommand> for FakePorts {
    type Result = Result<Submission, InfraError>;
    fn handle(&mut self, msg: SubmitCommand, _: &mut Context<Self>) -> Self::Result {
        let command_id = msg.command.id();
        self.received.submitted.push(msg.command);
        self.received.request_ids.push(msg.request_id);
        Ok(Submission::Accepted { command_id })
    }
}

::actors::instrument!(
    FakePorts: FindCredentials,
    VerifyPassword,
    HashPassword,
    HashNewPassword,
    UpgradePasswordHash,
    StartSession,
    RotateRefreshToken,
    RevokeSessions,
    CheckLoginThrottle,
    RecordLoginFailure,
    ClearLoginFailures,
    FindTotp,
    CreateMfaChallenge,
    ConsumeMfaChallenge,
    UseTotpStep,
    UseRecoveryCode,
    SubmitCommand,
);

/// A running [`FakePorts`]: hands out ports to it and reads back what it received.
pub struct Fake {
    actor: ActorRef<FakePorts>,
}

impl Fake {
    pub fn start(script: Script) -> Self {
        let actor = FakePorts {
            script,
            received: Received::default(),
        }
        .start();
        Self {
            actor: ActorRef::new(actor),
        }
    }

    pub fn port<M>(&self) -> Port<M>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        FakePorts: Handler<::actors::Traced<M>>,
        <FakePorts as Actor>::Context: actix::dev::ToEnvelope<FakePorts, ::actors::Traced<M>>,
    {
        self.actor.port()
    }

    /// What the fake received so far (and forgets it).
    pub async fn received(&self) -> Received {
        self.actor.addr().send(TakeReceived).await.expect("fake")
    }
}

/// An account whose password is [`RIGHT_PASSWORD`], hashed at cost `cost`.
pub fn account(cost: u32) -> Credentials {
    Credentials {
        user_id: UserId::new(),
        email: "ada@example.com".into(),
        username: "ada_lovelace".into(),
        role: Role::User,
        is_active: true,
        password_hash: PasswordHash::new(format!("$2b${cost:02}$the-stored-hash")),
        email_verified: true,
    }
}

pub fn principal_of(account: &Credentials) -> Principal {
    Principal {
        user_id: account.user_id,
        email: account.email.clone(),
        role: account.role,
        session_id: Uuid::now_v7(),
    }
}

pub fn grant() -> RefreshGrant {
    RefreshGrant {
        session_id: Uuid::nil(),
        refresh_token: "refresh-token".into(),
        refresh_expires_at: chrono::Utc::now(),
    }
}

/// Issues `access-for-<user id>`; verifies nothing (the use cases under test never verify).
pub struct FakeTokens;

impl TokenService for FakeTokens {
    fn issue_access(&self, principal: &Principal) -> Result<IssuedToken, InfraError> {
        Ok(IssuedToken {
            token: format!("access-for-{}", principal.user_id),
            expires_at: chrono::Utc::now(),
        })
    }
    fn verify_access(&self, _: &str) -> Result<VerifiedToken, TokenRejected> {
        Err(TokenRejected("not in these tests".into()))
    }
    fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [] })
    }
}

/// Records every login outcome reported.
#[derive(Default)]
pub struct RecordedOutcomes(pub Mutex<Vec<LoginResult>>);

impl AuthOutcomes for RecordedOutcomes {
    fn login(&self, result: LoginResult) {
        self.0.lock().unwrap().push(result);
    }
}

impl RecordedOutcomes {
    pub fn taken(&self) -> Vec<LoginResult> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Never asked to seal or open in these tests (that is the second MFA step's business).
pub struct NoCipher;

impl SecretCipher for NoCipher {
    fn seal(&self, plaintext: &[u8], _: &[u8]) -> Vec<u8> {
        plaintext.to_vec()
    }
    fn open(&self, sealed: &[u8], _: &[u8]) -> Option<Vec<u8>> {
        Some(sealed.to_vec())
    }
}

pub fn shared_outcomes() -> Arc<RecordedOutcomes> {
    Arc::new(RecordedOutcomes::default())
}
