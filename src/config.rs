//! Typed configuration from environment variables, with development defaults.
//!
//! Invalid configuration is one clear line naming the variable (and exit code 2 in `main`).
//! Secrets are wrapped so that they never reach a log line through `Debug`.

pub mod account_mail;

use ::actors::rabbit::QueueKind;
use std::fmt;
use std::time::Duration;

pub const DEV_SECRET_KEY: &str = "dev-only-secret-key-do-not-use-in-production";
/// Base64 of 32 bytes; encrypts TOTP secrets at rest. Development only.
pub const DEV_DATA_ENCRYPTION_KEY: &str = "ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE=";

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    pub database_url: Secret,
    pub rabbitmq_url: Secret,
    pub amqp_prefix: String,
    pub queue_kind: QueueKind,
    pub secret_key: Secret,
    /// 32 bytes (given as base64): the AEAD key for secrets stored at rest (TOTP secrets).
    pub data_encryption_key: Secret,
    pub host: String,
    pub port: u16,
    pub worker_port: u16,
    pub log_level: String,
    pub log_format: LogFormat,
    pub bcrypt_cost: u32,
    pub worker_prefetch: u16,
    pub command_wait: Duration,
    pub db_max_connections: u32,
    pub supervisor_max_restarts: u32,
    pub supervisor_window: Duration,
    pub shutdown_timeout: Duration,
    /// How often queue depths, the pool and active users are sampled.
    pub monitor_interval: Duration,
    /// A message in its handler longer than this is a stall (see `actors::supervisor`).
    pub actor_stall_limit: Duration,
    pub retry_tiers: Vec<Duration>,
    pub max_attempts: u32,
    pub auth: AuthSettings,
    /// Email delivery, password recovery, email verification (see `config/account_mail.rs`).
    pub account_mail: account_mail::AccountMailSettings,
}

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
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

pub(crate) fn num<T>(variable: &'static str, raw: String, min: T, max: T) -> Result<T, ConfigError>
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

pub(crate) fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `lookup` so tests can configure without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str, default: &str| {
            lookup(k)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };

        let environment = match get("ENVIRONMENT", "development")
            .to_ascii_lowercase()
            .as_str()
        {
            "development" | "dev" | "test" => Environment::Development,
            "production" | "prod" => Environment::Production,
            other => {
                return Err(err(
                    "ENVIRONMENT",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let secret_key = get("SECRET_KEY", DEV_SECRET_KEY);
        if environment == Environment::Production {
            if secret_key == DEV_SECRET_KEY {
                return Err(err(
                    "SECRET_KEY",
                    "the development default cannot be used in production",
                ));
            }
            if secret_key.len() < 32 {
                return Err(err("SECRET_KEY", "must be at least 32 bytes in production"));
            }
        }
        let data_encryption_key = get("DATA_ENCRYPTION_KEY", DEV_DATA_ENCRYPTION_KEY);
        if environment == Environment::Production && data_encryption_key == DEV_DATA_ENCRYPTION_KEY
        {
            return Err(err(
                "DATA_ENCRYPTION_KEY",
                "must be set in production (base64 of 32 random bytes)",
            ));
        }
        if crate::infrastructure::crypto::decode_key(&data_encryption_key).is_none() {
            return Err(err(
                "DATA_ENCRYPTION_KEY",
                "must be base64 of exactly 32 bytes",
            ));
        }
        let bcrypt_cost = num("BCRYPT_COST", get("BCRYPT_COST", "12"), 4, 31)?;
        if environment == Environment::Production && bcrypt_cost < 10 {
            return Err(err("BCRYPT_COST", "must be at least 10 in production"));
        }
        let log_format = match get("LOG_FORMAT", "pretty").to_ascii_lowercase().as_str() {
            "pretty" | "text" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("expected pretty or json, got {other:?}"),
                ));
            }
        };
        let queue_kind = match get("QUEUE_TYPE", "quorum").to_ascii_lowercase().as_str() {
            "quorum" => QueueKind::Quorum,
            "classic" => QueueKind::Classic,
            other => {
                return Err(err(
                    "QUEUE_TYPE",
                    format!("expected quorum or classic, got {other:?}"),
                ));
            }
        };
        let retry_tiers = get("RETRY_DELAYS_MS", "1000,5000,30000,120000")
            .split(',')
            .map(|s| {
                num("RETRY_DELAYS_MS", s.to_owned(), 1u64, 86_400_000).map(Duration::from_millis)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let database_url = get(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/hexactor",
        );
        if !database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://") {
            return Err(err("DATABASE_URL", "must be a postgres:// URL"));
        }
        let rabbitmq_url = get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
        // One URL, or the comma-separated nodes of a cluster (see actors::rabbit::Endpoints).
        if let Err(e) = ::actors::rabbit::Endpoints::parse_in_order(&rabbitmq_url) {
            return Err(err(
                "RABBITMQ_URL",
                format!("must be one or more comma-separated amqp:// URLs: {e}"),
            ));
        }
        let amqp_prefix = get("AMQP_PREFIX", "hexactor");
        if !amqp_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(err(
                "AMQP_PREFIX",
                "only letters, digits, '_', '-' and '.' are allowed",
            ));
        }
        let account_mail = account_mail::AccountMailSettings::from_lookup(
            &get,
            environment == Environment::Production,
        )?;
        Ok(Self {
            account_mail,
            environment,
            database_url: Secret::new(database_url),
            rabbitmq_url: Secret::new(rabbitmq_url),
            amqp_prefix,
            queue_kind,
            secret_key: Secret::new(secret_key),
            data_encryption_key: Secret::new(data_encryption_key),
            host: get("HOST", "127.0.0.1"),
            port: num("PORT", get("PORT", "8000"), 0, 65535)?,
            worker_port: num("WORKER_PORT", get("WORKER_PORT", "8001"), 0, 65535)?,
            log_level: get("LOG_LEVEL", "info"),
            log_format,
            bcrypt_cost,
            worker_prefetch: num("WORKER_PREFETCH", get("WORKER_PREFETCH", "50"), 1, 1000)?,
            command_wait: Duration::from_secs(num(
                "COMMAND_WAIT_SECONDS",
                get("COMMAND_WAIT_SECONDS", "5"),
                0,
                60,
            )?),
            db_max_connections: num(
                "DB_MAX_CONNECTIONS",
                get("DB_MAX_CONNECTIONS", "20"),
                1,
                500,
            )?,
            supervisor_max_restarts: num(
                "SUPERVISOR_MAX_RESTARTS",
                get("SUPERVISOR_MAX_RESTARTS", "5"),
                0,
                1000,
            )?,
            supervisor_window: Duration::from_secs(num(
                "SUPERVISOR_WINDOW_SECONDS",
                get("SUPERVISOR_WINDOW_SECONDS", "10"),
                1,
                3600,
            )?),
            shutdown_timeout: Duration::from_secs(num(
                "SHUTDOWN_TIMEOUT_SECONDS",
                get("SHUTDOWN_TIMEOUT_SECONDS", "10"),
                1,
                600,
            )?),
            monitor_interval: Duration::from_millis(num(
                "MONITOR_INTERVAL_MS",
                get("MONITOR_INTERVAL_MS", "5000"),
                100,
                600_000,
            )?),
            actor_stall_limit: Duration::from_millis(num(
                "ACTOR_STALL_MS",
                get("ACTOR_STALL_MS", "60000"),
                10,
                3_600_000,
            )?),
            retry_tiers,
            max_attempts: num("MAX_ATTEMPTS", get("MAX_ATTEMPTS", "5"), 1, 100)?,
            auth: AuthSettings {
                keys: jwt_keys(&get("JWT_ALGORITHM", "HS256"), &get("JWT_KEYS", ""))?,
                issuer: get("JWT_ISSUER", "hexactor"),
                audience: get("JWT_AUDIENCE", "hexactor-api"),
                access_ttl: Duration::from_secs(num(
                    "ACCESS_TOKEN_TTL_SECONDS",
                    get("ACCESS_TOKEN_TTL_SECONDS", "900"),
                    10,
                    86_400,
                )?),
                refresh_ttl: Duration::from_secs(num(
                    "REFRESH_TOKEN_TTL_SECONDS",
                    get("REFRESH_TOKEN_TTL_SECONDS", "1209600"),
                    60,
                    31_536_000,
                )?),
                leeway: Duration::from_secs(num(
                    "JWT_LEEWAY_SECONDS",
                    get("JWT_LEEWAY_SECONDS", "30"),
                    0,
                    30,
                )?),
                session_cache: Duration::from_millis(num(
                    "SESSION_CACHE_MS",
                    get("SESSION_CACHE_MS", "2000"),
                    0,
                    60_000,
                )?),
                max_failures_per_account: num(
                    "LOGIN_MAX_FAILURES",
                    get("LOGIN_MAX_FAILURES", "5"),
                    1,
                    1000,
                )?,
                max_failures_per_address: num(
                    "LOGIN_MAX_FAILURES_PER_IP",
                    get("LOGIN_MAX_FAILURES_PER_IP", "20"),
                    1,
                    100_000,
                )?,
                lockout_base: Duration::from_secs(num(
                    "LOGIN_LOCKOUT_SECONDS",
                    get("LOGIN_LOCKOUT_SECONDS", "30"),
                    1,
                    86_400,
                )?),
                lockout_max: Duration::from_secs(3600),
                allowed_origins: get("ALLOWED_ORIGINS", "")
                    .split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
            },
        })
    }
}

/// `JWT_KEYS` for EdDSA: `kid=/path/to/private.pem,old-kid=/path/to/old.pem` (first one signs).
fn jwt_keys(algorithm: &str, keys: &str) -> Result<JwtKeys, ConfigError> {
    match algorithm.to_ascii_uppercase().as_str() {
        "HS256" => Ok(JwtKeys::Hmac),
        "EDDSA" => {
            let mut parsed = Vec::new();
            for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (kid, path) = entry
                    .split_once('=')
                    .ok_or_else(|| err("JWT_KEYS", format!("expected kid=path, got {entry:?}")))?;
                let pem = std::fs::read_to_string(path.trim())
                    .map_err(|e| err("JWT_KEYS", format!("cannot read {path:?}: {e}")))?;
                parsed.push((kid.trim().to_owned(), pem));
            }
            if parsed.is_empty() {
                return Err(err("JWT_KEYS", "EdDSA needs at least one kid=path entry"));
            }
            Ok(JwtKeys::Ed25519(parsed))
        }
        other => Err(err(
            "JWT_ALGORITHM",
            format!("expected HS256 or EdDSA, got {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(super) fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_for_development() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.port, 8000);
        assert_eq!(s.bcrypt_cost, 12);
        assert_eq!(s.retry_tiers.len(), 4);
    }

    #[test]
    fn production_refuses_the_default_or_a_short_secret() {
        let e = settings(&[("ENVIRONMENT", "production")]).unwrap_err();
        assert_eq!(e.variable, "SECRET_KEY");
        let e = settings(&[("ENVIRONMENT", "production"), ("SECRET_KEY", "short")]).unwrap_err();
        assert_eq!(e.variable, "SECRET_KEY");
        let e = settings(&[
            ("ENVIRONMENT", "production"),
            ("SECRET_KEY", &"x".repeat(32)),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "DATA_ENCRYPTION_KEY");
        let key = "cHJvZHVjdGlvbi1kYXRhLWtleS0zMi1ieXRlcy1vayE=";
        let ok = settings(&[
            ("ENVIRONMENT", "production"),
            ("SECRET_KEY", &"x".repeat(32)),
            ("DATA_ENCRYPTION_KEY", key),
            ("SMTP_URL", "smtp://127.0.0.1:25"),
        ]);
        assert!(ok.is_ok(), "{ok:?}");
        let e = settings(&[("DATA_ENCRYPTION_KEY", "c2hvcnQ=")]).unwrap_err();
        assert_eq!(e.variable, "DATA_ENCRYPTION_KEY");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        assert_eq!(
            settings(&[("PORT", "eighty")]).unwrap_err().variable,
            "PORT"
        );
        assert_eq!(
            settings(&[("BCRYPT_COST", "3")]).unwrap_err().variable,
            "BCRYPT_COST"
        );
        assert_eq!(
            settings(&[("DATABASE_URL", "mysql://x")])
                .unwrap_err()
                .variable,
            "DATABASE_URL"
        );
        let line = settings(&[("LOG_FORMAT", "xml")]).unwrap_err().to_string();
        assert!(line.contains("LOG_FORMAT"), "{line}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = settings(&[("SECRET_KEY", "super-secret-value-1234567890abcdef")]).unwrap();
        assert!(!format!("{s:?}").contains("super-secret"));
    }

    #[test]
    fn rabbitmq_url_takes_a_cluster_list_and_names_a_bad_entry_without_its_password() {
        let list = "amqp://u:p@rabbit1:5672/%2f,amqp://u:p@rabbit2:5672/%2f";
        assert!(settings(&[("RABBITMQ_URL", list)]).is_ok());
        let e = settings(&[("RABBITMQ_URL", "amqp://a,http://u:hunter2@b")]).unwrap_err();
        assert_eq!(e.variable, "RABBITMQ_URL");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
