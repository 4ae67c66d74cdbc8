//! Tokens, sessions and login lockouts.

use super::{ConfigError, Env, err};
use crate::variables as var;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwtKeys {
    /// HS256 with SECRET_KEY.
    Hmac,
    /// EdDSA (Ed25519) private keys in PEM, by key id; the first one signs, all of them verify
    /// (rotation: add the new key first, keep the old one until its tokens have expired).
    Ed25519(Vec<(String, String)>),
}

#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub keys: JwtKeys,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub leeway: Duration,
    pub session_cache: Duration,
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub lockout_base: Duration,
    pub lockout_max: Duration,
}

impl AuthSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: jwt_keys(&env.get(var::JWT_ALGORITHM), &env.get(var::JWT_KEYS))?,
            issuer: env.get(var::JWT_ISSUER),
            audience: env.get(var::JWT_AUDIENCE),
            access_ttl: env.seconds(var::ACCESS_TOKEN_TTL_SECONDS, 10, 86_400)?,
            refresh_ttl: env.seconds(var::REFRESH_TOKEN_TTL_SECONDS, 60, 31_536_000)?,
            leeway: env.seconds(var::JWT_LEEWAY_SECONDS, 0, 30)?,
            session_cache: env.millis(var::SESSION_CACHE_MS, 0, 60_000)?,
            max_failures_per_account: env.num(var::LOGIN_MAX_FAILURES, 1, 1000)?,
            max_failures_per_address: env.num(var::LOGIN_MAX_FAILURES_PER_IP, 1, 100_000)?,
            lockout_base: env.seconds(var::LOGIN_LOCKOUT_SECONDS, 1, 86_400)?,
            lockout_max: Duration::from_secs(3600),
        })
    }
}

/// `JWT_KEYS` for EdDSA: `kid=/path/to/private.pem,old-kid=/path/to/old.pem` (first one signs).
fn jwt_keys(algorithm: &str, keys: &str) -> Result<JwtKeys, ConfigError> {
    let variable = var::JWT_KEYS.name;
    match algorithm.to_ascii_uppercase().as_str() {
        "HS256" => Ok(JwtKeys::Hmac),
        "EDDSA" => {
            let mut parsed = Vec::new();
            for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (kid, path) = entry
                    .split_once('=')
                    .ok_or_else(|| err(variable, format!("expected kid=path, got {entry:?}")))?;
                let pem = std::fs::read_to_string(path.trim())
                    .map_err(|e| err(variable, format!("cannot read {path:?}: {e}")))?;
                parsed.push((kid.trim().to_owned(), pem));
            }
            if parsed.is_empty() {
                return Err(err(variable, "EdDSA needs at least one kid=path entry"));
            }
            Ok(JwtKeys::Ed25519(parsed))
        }
        other => Err(err(
            var::JWT_ALGORITHM.name,
            format!("expected HS256 or EdDSA, got {other:?}"),
        )),
    }
}
