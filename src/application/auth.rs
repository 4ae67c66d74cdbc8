//! The auth context's use cases: login, refresh-token rotation, logout.
//!
//! Login is built so that an observer learns nothing about which accounts exist: unknown email,
//! wrong password and inactive account take the same path through one password verification (a
//! dummy hash made with the configured algorithm stands in for a missing account) and give the
//! same answer.

use super::outcomes::{AuthOutcomes, LoginResult};
use super::ports::*;
use crate::domain::{Email, LockoutPolicy, Password, PasswordHash, PasswordHashing, Principal};
use ::actors::Port;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// The ports login and sessions need.
#[derive(Clone)]
pub struct AuthPorts {
    pub credentials: Port<FindCredentials>,
    pub verify: Port<VerifyPassword>,
    pub hash: Port<HashPassword>,
    pub upgrade_hash: Port<UpgradePasswordHash>,
    pub start_session: Port<StartSession>,
    pub rotate: Port<RotateRefreshToken>,
    pub revoke: Port<RevokeSessions>,
    pub check_throttle: Port<CheckLoginThrottle>,
    pub record_failure: Port<RecordLoginFailure>,
    pub clear_failures: Port<ClearLoginFailures>,
    pub mfa: super::mfa_challenge::MfaLoginPorts,
    /// Where login outcomes are reported (metrics, in production).
    pub outcomes: Arc<dyn AuthOutcomes>,
}

#[derive(Clone, Debug)]
pub struct AuthPolicy {
    /// What hashes should be made with: a login re-hashes one made otherwise.
    pub hashing: PasswordHashing,
    pub refresh_ttl: Duration,
    pub per_account: LockoutPolicy,
    pub per_address: LockoutPolicy,
    /// `REQUIRE_VERIFIED_EMAIL`: a correct password to an unverified address is refused (403).
    pub require_verified_email: bool,
}

#[derive(Debug, Clone)]
pub struct TokenPair {
    pub principal: Principal,
    pub access: IssuedToken,
    pub refresh: RefreshGrant,
}

#[derive(Debug)]
pub enum LoginOutcome {
    Success(TokenPair),
    /// Deliberately one variant for unknown email, wrong password and inactive account.
    InvalidCredentials,
    Locked {
        retry_after: Duration,
    },
    /// The password was right and TOTP is on: the second step needs this single-use token.
    MfaRequired {
        mfa_token: String,
    },
    /// The password was right, but the address is not verified and the policy requires it.
    /// Only ever answered after the password check, so it tells a stranger nothing.
    EmailNotVerified,
}

#[derive(Message)]
#[rtype(result = "Result<LoginOutcome, InfraError>")]
pub struct Login {
    pub email: String,
    pub password: String,
    pub client_address: String,
    pub user_agent: Option<String>,
}

#[derive(Message)]
#[rtype(result = "Result<Option<TokenPair>, InfraError>")]
pub struct Refresh {
    pub refresh_token: String,
    pub client: super::client_info::ClientInfo,
}

#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub struct Logout {
    pub principal: Principal,
    pub everywhere: bool,
}

pub struct AuthService {
    pub(super) ports: AuthPorts,
    pub(super) tokens: Arc<dyn TokenService>,
    pub(super) policy: AuthPolicy,
    /// Verified against when the account does not exist, so that a miss costs a real hash.
    dummy_hash: PasswordHash,
}

impl AuthService {
    pub fn new(
        ports: AuthPorts,
        tokens: Arc<dyn TokenService>,
        policy: AuthPolicy,
        dummy_hash: PasswordHash,
    ) -> Self {
        Self {
            ports,
            tokens,
            policy,
            dummy_hash,
        }
    }
}

impl Actor for AuthService {
    type Context = Context<Self>;
}

impl Supervised for AuthService {}

pub(super) fn mailbox(e: MailboxError) -> InfraError {
    InfraError::new("auth actor", e)
}

impl Handler<Login> for AuthService {
    type Result = ResponseFuture<Result<LoginOutcome, InfraError>>;

    fn handle(&mut self, msg: Login, _: &mut Context<Self>) -> Self::Result {
        let (ports, tokens, policy, dummy) = (
            self.ports.clone(),
            self.tokens.clone(),
            self.policy.clone(),
            self.dummy_hash.clone(),
        );
        Box::pin(async move {
            let email = Email::parse(&msg.email).map(|e| e.as_str().to_owned()).ok();
            let account_key = format!(
                "account:{}",
                email
                    .clone()
                    .unwrap_or_else(|| msg.email.trim().to_lowercase())
            );
            let address_key = format!("ip:{}", msg.client_address);
            let keys = vec![account_key.clone(), address_key.clone()];
            if let Some(retry_after) = ports
                .check_throttle
                .ask(CheckLoginThrottle { keys })
                .await
                .map_err(mailbox)??
            {
                tracing::warn!(outcome = "locked", account = %account_key, client = %msg.client_address, "login attempt");
                ports.outcomes.login(LoginResult::Locked);
                return Ok(LoginOutcome::Locked { retry_after });
            }
            let credentials = match &email {
                Some(email) => ports
                    .credentials
                    .ask(FindCredentials::ByEmail(email.clone()))
                    .await
                    .map_err(mailbox)??,
                None => None,
            };
            let hash = credentials
                .as_ref()
                .map(|c| c.password_hash.clone())
                .unwrap_or(dummy);
            // Unparseable input (empty, or over 1,024 bytes) still spends a verification.
            let presented = Password::presented(msg.password.clone()).ok();
            let well_formed = presented.is_some();
            let candidate =
                presented.unwrap_or_else(|| Password::presented("x".repeat(16)).expect("valid"));
            let verified = ports
                .verify
                .ask(VerifyPassword {
                    password: candidate,
                    hash: hash.clone(),
                })
                .await
                .map_err(mailbox)??;
            let credentials =
                credentials.filter(|c| verified.matches() && c.is_active && well_formed);
            let Some(credentials) = credentials else {
                let keys = vec![
                    (account_key.clone(), policy.per_account),
                    (address_key, policy.per_address),
                ];
                let lock = ports
                    .record_failure
                    .ask(RecordLoginFailure { keys })
                    .await
                    .map_err(mailbox)??;
                tracing::warn!(outcome = "invalid", account = %account_key, client = %msg.client_address, locked_for_s = lock.map(|d| d.as_secs()), "login attempt");
                ports.outcomes.login(LoginResult::Invalid);
                return Ok(LoginOutcome::InvalidCredentials);
            };

            ports.clear_failures.tell(ClearLoginFailures {
                key: account_key.clone(),
            });
            if policy.require_verified_email && !credentials.email_verified {
                tracing::info!(outcome = "email_not_verified", account = %account_key, client = %msg.client_address, "login attempt");
                ports.outcomes.login(LoginResult::EmailNotVerified);
                return Ok(LoginOutcome::EmailNotVerified);
            }
            if let Some(mfa_token) =
                super::mfa_challenge::challenge_if_enrolled(&ports.mfa, credentials.user_id).await?
            {
                ports.outcomes.login(LoginResult::MfaRequired);
                tracing::info!(outcome = "mfa_required", account = %account_key, client = %msg.client_address, "login attempt");
                return Ok(LoginOutcome::MfaRequired { mfa_token });
            }
            let client = super::client_info::ClientInfo::new(
                msg.user_agent.as_deref(),
                Some(msg.client_address.clone()),
            );
            let pair = issue_pair(&ports, tokens.as_ref(), &policy, &credentials, client).await?;
            ports.outcomes.login(LoginResult::Success);
            tracing::info!(outcome = "success", account = %account_key, client = %msg.client_address, user_id = %pair.principal.user_id, "login attempt");

            // The hash was made with another algorithm or less work than configured now, or from
            // the password before normalisation: re-hash it now that we hold the plaintext (the
            // only moment we ever do), from the normalised form.
            if (policy.hashing.needs_rehash(&hash) || verified == Verified::AsTyped)
                && let Ok(password) = Password::presented(msg.password)
            {
                let (hasher, upgrade, user_id) = (
                    ports.hash.clone(),
                    ports.upgrade_hash.clone(),
                    credentials.user_id,
                );
                let to = policy.hashing.name();
                actix::spawn(async move {
                    match hasher.ask(HashPassword { password }).await {
                        Ok(Ok(new_hash)) => {
                            let _ = upgrade
                                .ask(UpgradePasswordHash {
                                    user_id,
                                    old_hash: hash,
                                    new_hash,
                                })
                                .await;
                            tracing::info!(%user_id, to, "password hash upgraded");
                        }
                        // bcrypt refuses a password over 71 bytes: the old hash stays.
                        Ok(Err(e)) => {
                            tracing::warn!(%user_id, error = %::actors::ErrorChain(&e), "password hash not upgraded");
                        }
                        Err(_) => {}
                    }
                });
            }
            Ok(LoginOutcome::Success(pair))
        })
    }
}

/// Opens a session for an authenticated account and issues its token pair.
pub(super) async fn issue_pair(
    ports: &AuthPorts,
    tokens: &dyn TokenService,
    policy: &AuthPolicy,
    credentials: &Credentials,
    client: super::client_info::ClientInfo,
) -> Result<TokenPair, InfraError> {
    let grant = ports
        .start_session
        .ask(StartSession {
            user_id: credentials.user_id,
            refresh_ttl: policy.refresh_ttl,
            client,
        })
        .await
        .map_err(mailbox)??;
    let principal = Principal {
        user_id: credentials.user_id,
        email: credentials.email.clone(),
        role: credentials.role,
        session_id: grant.session_id,
    };
    let access = tokens.issue_access(&principal)?;
    Ok(TokenPair {
        principal,
        access,
        refresh: grant,
    })
}

impl Handler<Refresh> for AuthService {
    type Result = ResponseFuture<Result<Option<TokenPair>, InfraError>>;

    fn handle(&mut self, msg: Refresh, _: &mut Context<Self>) -> Self::Result {
        let (ports, tokens, ttl) = (
            self.ports.clone(),
            self.tokens.clone(),
            self.policy.refresh_ttl,
        );
        Box::pin(async move {
            match ports
                .rotate
                .ask(RotateRefreshToken {
                    token: msg.refresh_token,
                    refresh_ttl: ttl,
                    client: msg.client,
                    oauth_client: None,
                })
                .await
                .map_err(mailbox)??
            {
                Rotation::Rotated { principal, grant } => {
                    let access = tokens.issue_access(&principal)?;
                    Ok(Some(TokenPair {
                        principal,
                        access,
                        refresh: grant,
                    }))
                }
                Rotation::ReuseDetected => {
                    tracing::warn!("refresh token reuse detected; session family revoked");
                    Ok(None)
                }
                Rotation::Invalid => Ok(None),
            }
        })
    }
}

impl Handler<Logout> for AuthService {
    type Result = ResponseFuture<Result<(), InfraError>>;

    fn handle(&mut self, msg: Logout, _: &mut Context<Self>) -> Self::Result {
        let revoke = self.ports.revoke.clone();
        Box::pin(async move {
            let scope = if msg.everywhere {
                RevokeSessions::AllOf(msg.principal.user_id)
            } else {
                RevokeSessions::One(msg.principal.session_id)
            };
            revoke.ask(scope).await.map_err(mailbox)?
        })
    }
}

::actors::instrument!(AuthService: Login, Refresh, Logout);

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
