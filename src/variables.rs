//! Every environment variable the service reads, with its default and meaning: printed by
//! `--help`, and checked by tests against what `config` actually reads, its real defaults and
//! `.env.example` — so that the three cannot drift apart.

/// `(name, default, meaning)`; an empty default means "unset".
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/hexactor",
        "PostgreSQL; TLS with ?sslmode=verify-full&sslrootcert=ca.pem",
    ),
    (
        "RABBITMQ_URL",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        "RabbitMQ; amqps:// for TLS",
    ),
    (
        "RABBITMQ_CA_FILE",
        "",
        "PEM CA bundle trusted for amqps:// (besides the system roots)",
    ),
    (
        "AMQP_PREFIX",
        "hexactor",
        "prefix of every exchange and queue",
    ),
    ("QUEUE_TYPE", "quorum", "quorum | classic command queues"),
    (
        "RETRY_DELAYS_MS",
        "1000,5000,30000,120000",
        "delayed-retry tiers",
    ),
    ("MAX_ATTEMPTS", "5", "attempts before dead-lettering"),
    (
        "SECRET_KEY",
        crate::config::DEV_SECRET_KEY,
        "HS256 and fingerprint key; production needs >= 32 bytes of your own",
    ),
    ("ENVIRONMENT", "development", "development | production"),
    (
        "HOST",
        "127.0.0.1",
        "public listener address (API, /health, /ready)",
    ),
    ("PORT", "8000", "public listener port"),
    (
        "OPS_HOST",
        "127.0.0.1",
        "ops listener address (/metrics, /debug/*)",
    ),
    ("OPS_PORT", "8002", "ops listener port of serve/dev"),
    ("WORKER_PORT", "8001", "a worker's ops port (on OPS_HOST)"),
    (
        "LOG_LEVEL",
        "info",
        "error|warn|info|debug|trace or target=level,...",
    ),
    ("LOG_FORMAT", "pretty", "pretty | json"),
    (
        "BCRYPT_COST",
        "12",
        "password hashing work factor (production >= 10)",
    ),
    (
        "WORKER_PREFETCH",
        "50",
        "unacked deliveries per worker consumer",
    ),
    (
        "COMMAND_WAIT_SECONDS",
        "5",
        "how long the API waits for a command's outcome",
    ),
    (
        "DB_MAX_CONNECTIONS",
        "20",
        "PostgreSQL pool size per process",
    ),
    (
        "SUPERVISOR_MAX_RESTARTS",
        "5",
        "restarts before a supervisor escalates...",
    ),
    ("SUPERVISOR_WINDOW_SECONDS", "10", "...within this window"),
    (
        "SHUTDOWN_TIMEOUT_SECONDS",
        "10",
        "graceful shutdown deadline",
    ),
    ("JWT_ALGORITHM", "HS256", "HS256 | EdDSA"),
    (
        "JWT_KEYS",
        "",
        "EdDSA keys: kid=/path.pem,... (the first signs)",
    ),
    ("JWT_ISSUER", "hexactor", "token issuer"),
    ("JWT_AUDIENCE", "hexactor-api", "token audience"),
    ("ACCESS_TOKEN_TTL_SECONDS", "900", "access token lifetime"),
    (
        "REFRESH_TOKEN_TTL_SECONDS",
        "1209600",
        "refresh token lifetime",
    ),
    (
        "JWT_LEEWAY_SECONDS",
        "30",
        "clock skew allowed (at most 30)",
    ),
    (
        "SESSION_CACHE_MS",
        "2000",
        "how long a replica trusts a session check",
    ),
    (
        "LOGIN_MAX_FAILURES",
        "5",
        "failed logins per account before a lockout",
    ),
    (
        "LOGIN_MAX_FAILURES_PER_IP",
        "20",
        "failed logins per client address before a lockout",
    ),
    (
        "LOGIN_LOCKOUT_SECONDS",
        "30",
        "first lockout (doubles, up to an hour)",
    ),
    (
        "ALLOWED_ORIGINS",
        "",
        "CORS origins, comma-separated (empty: CORS off)",
    ),
    (
        "RATE_LIMIT_PER_MINUTE",
        "30",
        "requests/minute per client on unauthenticated endpoints, per replica (0: off)",
    ),
    (
        "RATE_LIMIT_BURST",
        "10",
        "requests at once before the rate applies",
    ),
    (
        "TRUSTED_PROXIES",
        "",
        "CIDRs whose X-Forwarded-For/Forwarded name the client",
    ),
    (
        "SMTP_URL",
        "",
        "smtp://host:port, ...?tls=required or smtps:// (unset: mail is logged; required in production)",
    ),
    (
        "MAIL_FROM",
        "hexactor <no-reply@localhost>",
        "sender of every message",
    ),
    (
        "PUBLIC_BASE_URL",
        "http://localhost:8000",
        "base of the links in messages",
    ),
    (
        "PASSWORD_RESET_TTL_SECONDS",
        "1800",
        "lifetime of a password-reset token",
    ),
    (
        "EMAIL_VERIFICATION_TTL_SECONDS",
        "86400",
        "lifetime of an email-verification token",
    ),
    (
        "ACCOUNT_MAIL_MIN_INTERVAL_SECONDS",
        "60",
        "at most one reset/resend mail per account in this interval",
    ),
    (
        "REQUIRE_VERIFIED_EMAIL",
        "false",
        "true: logins to unverified addresses answer 403",
    ),
    (
        "MONITOR_INTERVAL_MS",
        "5000",
        "how often queue depths, the pool and active users are sampled",
    ),
    (
        "ACTOR_STALL_MS",
        "60000",
        "a message still in its handler after this long is a stall",
    ),
    (
        "DATA_ENCRYPTION_KEY",
        crate::config::DEV_DATA_ENCRYPTION_KEY,
        "base64 of 32 bytes: encrypts TOTP secrets at rest (production needs your own)",
    ),
];

/// The `--help` epilogue: every variable with its default.
pub fn help_text() -> String {
    let width = VARIABLES.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    let mut text = String::from(
        "Environment (read from the environment, then from ./.env, then these defaults):\n",
    );
    for (name, default, meaning) in VARIABLES {
        let default = if *name == "SECRET_KEY" || *name == "DATA_ENCRYPTION_KEY" {
            "a development-only value"
        } else if default.is_empty() {
            "unset"
        } else {
            default
        };
        text.push_str(&format!(
            "  {name:width$}  {meaning} [default: {default}]\n"
        ));
    }
    text
}

/// Where variables come from: the process environment wins, then the `.env` file.
#[derive(Debug, Default)]
pub struct Vars {
    dotenv: std::collections::HashMap<String, String>,
}

impl Vars {
    /// Reads `path` if it exists (a missing file is not an error; a malformed one is).
    pub fn load(path: &std::path::Path) -> Result<Self, crate::config::ConfigError> {
        let iter = match dotenvy::from_path_iter(path) {
            Ok(iter) => iter,
            Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(e) => return Err(dotenv_error(e)),
        };
        let dotenv = iter.collect::<Result<_, _>>().map_err(dotenv_error)?;
        Ok(Self { dotenv })
    }

    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
    }
}

fn dotenv_error(e: dotenvy::Error) -> crate::config::ConfigError {
    crate::config::ConfigError {
        variable: ".env",
        message: e.to_string(),
    }
}
