//! The first step of a login with TOTP on: after a correct password, an account with TOTP
//! enrolled gets a single-use `mfa_token` instead of tokens. The password login (`auth`) calls
//! it and the second step (`mfa_login`) uses the same ports; it is a module of its own so that
//! neither of those two has to import the other.

use super::mfa_ports::*;
use super::ports::InfraError;
use crate::domain::UserId;
use ::actors::Port;
use std::sync::Arc;
use std::time::Duration;

/// How long an `mfa_token` stays usable.
pub const MFA_TOKEN_TTL: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct MfaLoginPorts {
    pub find_totp: Port<FindTotp>,
    pub create_challenge: Port<CreateMfaChallenge>,
    pub consume_challenge: Port<ConsumeMfaChallenge>,
    pub use_step: Port<UseTotpStep>,
    pub use_recovery_code: Port<UseRecoveryCode>,
    pub cipher: Arc<dyn SecretCipher>,
}

/// After a correct password: a challenge token if the account has TOTP on.
pub(super) async fn challenge_if_enrolled(
    ports: &MfaLoginPorts,
    user_id: UserId,
) -> Result<Option<String>, InfraError> {
    let enrolled = ports
        .find_totp
        .ask(FindTotp { user_id })
        .await
        .map_err(|e| InfraError::new("mfa challenge", e))??
        .is_some_and(|t| t.confirmed);
    if !enrolled {
        return Ok(None);
    }
    let token = ports
        .create_challenge
        .ask(CreateMfaChallenge {
            user_id,
            ttl: MFA_TOKEN_TTL,
        })
        .await
        .map_err(|e| InfraError::new("mfa challenge", e))??;
    Ok(Some(token))
}
