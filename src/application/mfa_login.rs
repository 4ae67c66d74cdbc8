//! The second step of a login with TOTP on: `mfa_token` (proof the password was right, single
//! use, minutes long) plus a TOTP code or a recovery code gives the usual token pair.
//!
//! Failures are throttled like logins (per account and per client address, same policies and
//! store), each code is accepted once (the step is recorded with an "only if later" update), and
//! the token is spent by any attempt, right or wrong: a wrong code means starting again with the
//! password, so guessing costs a password verification per try.

use super::auth::{AuthService, LoginOutcome, TokenPair, issue_pair, mailbox};
use super::client_info::ClientInfo;
use super::mfa::recovery_code_hash;
use super::mfa_challenge::MfaLoginPorts;
use super::mfa_ports::*;
use super::outcomes::LoginResult;
use super::ports::*;
use crate::domain::UserId;
use crate::domain::totp::{self, TotpSecret};
use actix::prelude::*;

#[derive(Message)]
#[rtype(result = "Result<LoginOutcome, InfraError>")]
pub struct LoginMfa {
    pub mfa_token: String,
    pub code: String,
    pub client_address: String,
    pub user_agent: Option<String>,
}

/// Whether `code` (a TOTP code, else a recovery code) is good for `user_id`, spending it if so.
async fn spend_code(
    ports: &MfaLoginPorts,
    user_id: UserId,
    code: &str,
) -> Result<bool, InfraError> {
    if totp::parse_code(code).is_none() {
        return ports
            .use_recovery_code
            .ask(UseRecoveryCode {
                user_id,
                code_hash: recovery_code_hash(code),
            })
            .await
            .map_err(mailbox)?;
    }
    let Some(record) = ports
        .find_totp
        .ask(FindTotp { user_id })
        .await
        .map_err(mailbox)??
        .filter(|t| t.confirmed)
    else {
        return Ok(false);
    };
    let secret = ports
        .cipher
        .open(&record.sealed_secret, user_id.as_uuid().as_bytes())
        .map(TotpSecret::from_bytes)
        .ok_or_else(|| {
            InfraError::new("TOTP secret", "does not decrypt with DATA_ENCRYPTION_KEY")
        })?;
    let now = chrono::Utc::now().timestamp();
    let Some(step) = totp::verify(&secret, code, now, record.last_used_step) else {
        return Ok(false);
    };
    ports
        .use_step
        .ask(UseTotpStep { user_id, step })
        .await
        .map_err(mailbox)?
}

impl Handler<LoginMfa> for AuthService {
    type Result = ResponseFuture<Result<LoginOutcome, InfraError>>;

    fn handle(&mut self, msg: LoginMfa, _: &mut Context<Self>) -> Self::Result {
        let (ports, tokens, policy) =
            (self.ports.clone(), self.tokens.clone(), self.policy.clone());
        Box::pin(async move {
            let Some(user_id) = ports
                .mfa
                .consume_challenge
                .ask(ConsumeMfaChallenge {
                    token: msg.mfa_token,
                })
                .await
                .map_err(mailbox)??
            else {
                ports.outcomes.login(LoginResult::MfaInvalid);
                return Ok(LoginOutcome::InvalidCredentials);
            };
            let account_key = format!("mfa:{user_id}");
            let address_key = format!("ip:{}", msg.client_address);
            if let Some(retry_after) = ports
                .check_throttle
                .ask(CheckLoginThrottle {
                    keys: vec![account_key.clone(), address_key.clone()],
                })
                .await
                .map_err(mailbox)??
            {
                tracing::warn!(outcome = "locked", %user_id, client = %msg.client_address, "MFA attempt");
                ports.outcomes.login(LoginResult::Locked);
                return Ok(LoginOutcome::Locked { retry_after });
            }
            let credentials = ports
                .credentials
                .ask(FindCredentials::ById(user_id))
                .await
                .map_err(mailbox)??
                .filter(|c| c.is_active);
            let good = match &credentials {
                Some(_) => spend_code(&ports.mfa, user_id, &msg.code).await?,
                None => false,
            };
            let (Some(credentials), true) = (credentials, good) else {
                let keys = vec![
                    (account_key, policy.per_account),
                    (address_key, policy.per_address),
                ];
                ports
                    .record_failure
                    .ask(RecordLoginFailure { keys })
                    .await
                    .map_err(mailbox)??;
                tracing::warn!(outcome = "invalid", %user_id, client = %msg.client_address, "MFA attempt");
                ports.outcomes.login(LoginResult::MfaInvalid);
                return Ok(LoginOutcome::InvalidCredentials);
            };
            ports
                .clear_failures
                .tell(ClearLoginFailures { key: account_key });
            let client =
                ClientInfo::new(msg.user_agent.as_deref(), Some(msg.client_address.clone()));
            let pair: TokenPair =
                issue_pair(&ports, tokens.as_ref(), &policy, &credentials, client).await?;
            ports.outcomes.login(LoginResult::Success);
            tracing::info!(outcome = "success", %user_id, client = %msg.client_address, "MFA attempt");
            Ok(LoginOutcome::Success(pair))
        })
    }
}

::actors::instrument!(AuthService: LoginMfa);
