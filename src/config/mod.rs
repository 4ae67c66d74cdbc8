//! Typed configuration from environment variables, with development defaults.
//!
//! One module per concern, each reading its variables through their entries in
//! [`crate::variables`] (name, default and meaning are written there once):
//! `database`, `messaging` (RabbitMQ), `http` (listeners and what guards them), `auth` (tokens,
//! sessions, lockouts), `credentials` (password hashing, breached-password screening), `account_mail`, `ui` (the pages), `runtime` (supervision, monitoring, logs). What is left
//! here is what several concerns share: the environment and the two keys.
//!
//! Invalid configuration is one clear line naming the variable (and exit code 2 in `main`).
//! Secrets are wrapped so that they never reach a log line through `Debug`.

pub mod account_mail;
pub mod auth;
pub mod credentials;
pub mod database;
pub mod http;
pub mod messaging;
pub mod oidc;
pub mod runtime;
mod sources;
mod trusted_proxies;
pub mod ui;

pub use auth::{AuthSettings, JwtKeys};
pub use runtime::LogFormat;
pub use sources::Vars;
pub use trusted_proxies::TrustedProxies;

use crate::variables::{self as var, Var};
use std::fmt;
use std::time::Duration;

pub use crate::variables::{DEV_DATA_ENCRYPTION_KEY, DEV_SECRET_KEY};

/// A value that must not be printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    /// HS256 signing, request fingerprints, one-time-token derivation.
    pub secret_key: Secret,
    /// 32 bytes (given as base64): the AEAD key for secrets stored at rest (TOTP secrets).
    pub data_encryption_key: Secret,
    /// Password hashing and breached-password screening.
    pub credentials: credentials::CredentialSettings,
    pub database: database::DatabaseSettings,
    pub messaging: messaging::MessagingSettings,
    pub http: http::HttpSettings,
    pub auth: AuthSettings,
    /// Email delivery, password recovery, email verification.
    pub account_mail: account_mail::AccountMailSettings,
    pub runtime: runtime::RuntimeSettings,
    /// The pages for people (`pages/`).
    pub ui: ui::UiSettings,
    /// The OpenID Connect provider (`oauth2/`).
    pub oidc: oidc::OidcSettings,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

pub(crate) fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Parses `raw` (the value of `variable`) as a number within `min..=max`.
pub(crate) fn num<T>(variable: &'static str, raw: &str, min: T, max: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let v: T = raw
        .trim()
        .parse()
        .map_err(|_| err(variable, format!("not a number: {raw:?}")))?;
    if v < min || v > max {
        return Err(err(
            variable,
            format!("must be between {min} and {max}, got {v}"),
        ));
    }
    Ok(v)
}

/// Reads variables by their table entry: the value, or the table's default when it is unset or
/// empty.
pub(crate) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    pub fn get(&self, var: Var) -> String {
        (self.lookup)(var.name)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| var.default.to_owned())
    }

    pub fn num<T>(&self, var: Var, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        num(var.name, &self.get(var), min, max)
    }

    pub fn seconds(&self, var: Var, min: u64, max: u64) -> Result<Duration, ConfigError> {
        self.num(var, min, max).map(Duration::from_secs)
    }

    pub fn millis(&self, var: Var, min: u64, max: u64) -> Result<Duration, ConfigError> {
        self.num(var, min, max).map(Duration::from_millis)
    }

    /// One of `choices` (case-insensitive); `expected` says which in the error.
    pub fn choice<T: Copy>(
        &self,
        var: Var,
        choices: &[(&str, T)],
        expected: &str,
    ) -> Result<T, ConfigError> {
        let value = self.get(var).to_ascii_lowercase();
        choices
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, choice)| *choice)
            .ok_or_else(|| err(var.name, format!("expected {expected}, got {value:?}")))
    }

    /// A comma-separated list, entries trimmed, empty ones dropped.
    pub fn list(&self, var: Var) -> Vec<String> {
        self.get(var)
            .split(',')
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect()
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `lookup` so tests can configure without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env { lookup: &lookup };
        let environment = env.choice(
            var::ENVIRONMENT,
            &[
                ("development", Environment::Development),
                ("dev", Environment::Development),
                ("test", Environment::Development),
                ("production", Environment::Production),
                ("prod", Environment::Production),
            ],
            "development or production",
        )?;
        let production = environment == Environment::Production;
        let (secret_key, data_encryption_key) = keys(&env, production)?;
        Ok(Self {
            environment,
            secret_key,
            data_encryption_key,
            credentials: credentials::CredentialSettings::read(&env, production)?,
            runtime: runtime::RuntimeSettings::read(&env)?,
            messaging: messaging::MessagingSettings::read(&env)?,
            database: database::DatabaseSettings::read(&env)?,
            account_mail: account_mail::AccountMailSettings::read(&env, production)?,
            oidc: oidc::OidcSettings::read(&env, &env.get(var::PUBLIC_BASE_URL))?,
            http: http::HttpSettings::read(&env)?,
            auth: AuthSettings::read(&env)?,
            ui: ui::UiSettings::read(&env)?,
        })
    }
}

/// `SECRET_KEY` and `DATA_ENCRYPTION_KEY`: production refuses the development defaults.
fn keys(env: &Env<'_>, production: bool) -> Result<(Secret, Secret), ConfigError> {
    let secret_key = env.get(var::SECRET_KEY);
    if production {
        if secret_key == DEV_SECRET_KEY {
            return Err(err(
                var::SECRET_KEY.name,
                "the development default cannot be used in production",
            ));
        }
        if secret_key.len() < 32 {
            return Err(err(
                var::SECRET_KEY.name,
                "must be at least 32 bytes in production",
            ));
        }
    }
    let data_encryption_key = env.get(var::DATA_ENCRYPTION_KEY);
    if production && data_encryption_key == DEV_DATA_ENCRYPTION_KEY {
        return Err(err(
            var::DATA_ENCRYPTION_KEY.name,
            "must be set in production (base64 of 32 random bytes)",
        ));
    }
    if decode_key(&data_encryption_key).is_none() {
        return Err(err(
            var::DATA_ENCRYPTION_KEY.name,
            "must be base64 of exactly 32 bytes",
        ));
    }
    Ok((Secret::new(secret_key), Secret::new(data_encryption_key)))
}

/// The 32-byte data encryption key from its base64 form, if it is one. Here rather than in the
/// cipher adapter (`infrastructure::crypto`, which calls it) so that configuration can reject a bad
/// key at start-up without depending on an adapter.
pub fn decode_key(encoded: &str) -> Option<[u8; 32]> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded.trim())
        .ok()?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests;
