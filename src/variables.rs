//! Every environment variable the service reads, with its default and meaning, named once:
//! `config` reads each through its constant here (so the default lives only here), `--help`
//! prints the table, and a test checks it against what `config` actually reads and against
//! `.env.example` — so that they cannot drift apart. Where the values come from is
//! `config::Vars`.

/// The development default of `SECRET_KEY` (refused in production).
pub const DEV_SECRET_KEY: &str = "dev-only-secret-key-do-not-use-in-production";
/// Base64 of 32 bytes; encrypts TOTP secrets at rest. Development only (refused in production).
pub const DEV_DATA_ENCRYPTION_KEY: &str = "ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE=";

/// One environment variable: its name, its default (empty: unset) and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Declares each variable once: a `Var` constant named like the variable (that `config` reads
/// by) and its line in [`VARIABLES`].
macro_rules! variables {
    ($($name:ident = $default:expr, $meaning:expr;)*) => {
        $(pub const $name: Var = Var {
            name: stringify!($name),
            default: $default,
            meaning: $meaning,
        };)*
        /// Every variable, in `--help` order (grouped as `config` reads them).
        pub const VARIABLES: &[Var] = &[$($name),*];
    };
}

variables! {
    // The process (config/mod.rs)
    ENVIRONMENT = "development", "development | production";
    SECRET_KEY = DEV_SECRET_KEY,
        "HS256 and fingerprint key; production needs >= 32 bytes of your own";
    DATA_ENCRYPTION_KEY = DEV_DATA_ENCRYPTION_KEY,
        "base64 of 32 bytes: encrypts TOTP secrets at rest (production needs your own)";
    // Credentials: password hashing and breached-password screening (config/credentials.rs)
    PASSWORD_HASH = "argon2id", "argon2id | bcrypt: how new password hashes are made";
    BCRYPT_COST = "12", "bcrypt work factor (production >= 10)";
    ARGON2_MEMORY_KIB = "19456", "Argon2id memory per hash, KiB (OWASP: 19456)";
    ARGON2_ITERATIONS = "2", "Argon2id passes over the memory (OWASP: 2)";
    ARGON2_PARALLELISM = "1", "Argon2id lanes (OWASP: 1)";
    PASSWORD_HASH_MEMORY_MIB = "256",
        "memory the hashing pool may hold at once; fewer hashers than cores if Argon2id needs it";
    BREACHED_PASSWORDS_URL = "",
        "k-anonymity range API (https://api.pwnedpasswords.com); unset with FILE unset: no screening";
    BREACHED_PASSWORDS_FILE = "", "sorted uppercase SHA-1 hashes (`HASH[:COUNT]` lines), checked offline";
    BREACHED_PASSWORDS_TIMEOUT_MS = "2000", "how long a breach check may take";
    BREACHED_PASSWORDS_ON_ERROR = "allow", "allow | deny a new password when the breach check fails";
    OUTBOUND_ALLOW_PRIVATE_ADDRESSES = "false",
        "true: outbound HTTP may reach private, loopback and link-local addresses (tests only)";
    // PostgreSQL (config/database.rs)
    DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hexactor",
        "PostgreSQL; TLS with ?sslmode=verify-full&sslrootcert=ca.pem";
    DB_MAX_CONNECTIONS = "20", "PostgreSQL pool size per process";
    EVENT_RETENTION_DAYS = "90", "how long GET /api/v1/events keeps an event (days)";
    // RabbitMQ (config/messaging.rs)
    RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2f", "RabbitMQ; amqps:// for TLS";
    RABBITMQ_CA_FILE = "", "PEM CA bundle trusted for amqps:// (besides the system roots)";
    AMQP_PREFIX = "hexactor", "prefix of every exchange and queue";
    QUEUE_TYPE = "quorum", "quorum | classic command queues";
    RETRY_DELAYS_MS = "1000,5000,30000,120000", "delayed-retry tiers";
    MAX_ATTEMPTS = "5", "attempts before dead-lettering";
    WORKER_PREFETCH = "50", "unacked deliveries per worker consumer";
    CONSUMER_RENEW_IDLE_SECONDS = "30", "renew a worker subscription after this long without a delivery (0: never)";
    // HTTP listeners (config/http.rs)
    HOST = "127.0.0.1", "public listener address (API, /health, /ready)";
    PORT = "8000", "public listener port";
    OPS_HOST = "127.0.0.1", "ops listener address (/metrics, /debug/*)";
    OPS_PORT = "8002", "ops listener port of serve/dev";
    WORKER_PORT = "8001", "a worker's ops port (on OPS_HOST)";
    COMMAND_WAIT_SECONDS = "5", "how long the API waits for a command's outcome";
    ALLOWED_ORIGINS = "", "CORS origins, comma-separated (empty: CORS off)";
    RATE_LIMIT_PER_MINUTE = "30",
        "requests/minute per client on unauthenticated endpoints (0: off)";
    RATE_LIMIT_BURST = "10", "requests at once before the rate applies";
    RATE_LIMIT_SHARED = "true",
        "one rate per client across API replicas, through PostgreSQL (false: per replica)";
    TRUSTED_PROXIES = "", "CIDRs whose X-Forwarded-For/Forwarded name the client";
    // Tokens, sessions and lockouts (config/auth.rs)
    JWT_ALGORITHM = "HS256", "HS256 | EdDSA";
    JWT_KEYS = "", "EdDSA keys: kid=/path.pem,... (the first signs)";
    JWT_ISSUER = "hexactor", "token issuer";
    JWT_AUDIENCE = "hexactor-api", "token audience";
    ACCESS_TOKEN_TTL_SECONDS = "900", "access token lifetime";
    REFRESH_TOKEN_TTL_SECONDS = "1209600", "refresh token lifetime";
    JWT_LEEWAY_SECONDS = "30", "clock skew allowed (at most 30)";
    SESSION_CACHE_MS = "2000", "how long a replica trusts a session check";
    LOGIN_MAX_FAILURES = "5", "failed logins per account before a lockout";
    LOGIN_MAX_FAILURES_PER_IP = "20", "failed logins per client address before a lockout";
    LOGIN_LOCKOUT_SECONDS = "30", "first lockout (doubles, up to an hour)";
    // Mail, password recovery, email verification (config/account_mail.rs)
    SMTP_URL = "",
        "smtp://host:port, ...?tls=required or smtps:// (unset: mail is logged; required in production)";
    MAIL_FROM = "hexactor <no-reply@localhost>", "sender of every message";
    PUBLIC_BASE_URL = "http://localhost:8000", "base of the links in messages";
    PASSWORD_RESET_TTL_SECONDS = "1800", "lifetime of a password-reset token";
    EMAIL_VERIFICATION_TTL_SECONDS = "86400", "lifetime of an email-verification token";
    EMAIL_CHANGE_TTL_SECONDS = "86400",
        "lifetime of the link that proves a new address (the undo link lasts 7 days)";
    ACCOUNT_MAIL_MIN_INTERVAL_SECONDS = "60",
        "at most one reset/resend mail per account in this interval";
    REQUIRE_VERIFIED_EMAIL = "false", "true: logins to unverified addresses answer 403";
    // Pages for people (config/ui.rs)
    UI_ENABLED = "true", "serve the sign-in, account and admin pages on the public port";
    UI_PRODUCT_NAME = "hexactor", "the name the pages show";
    UI_STYLESHEET = "", "path of a CSS file served after the built-in one (restyle without rebuilding)";
    UI_SESSION_IDLE_SECONDS = "1800", "a browser session ends after this long without a request";
    UI_SESSION_MAX_SECONDS = "43200", "a browser session ends this long after sign-in, used or not";
    // OpenID Connect provider (config/oidc.rs)
    OIDC_ISSUER = "", "the OpenID Connect issuer URL (unset: PUBLIC_BASE_URL)";
    OIDC_SIGNING_KEYS = "",
        "RSA private keys (PEM paths, comma-separated; the first signs, all are published; unset: one generated at start-up)";
    // Supervision, monitoring, logs (config/runtime.rs)
    SUPERVISOR_MAX_RESTARTS = "5", "restarts before a supervisor escalates...";
    SUPERVISOR_WINDOW_SECONDS = "10", "...within this window";
    SHUTDOWN_TIMEOUT_SECONDS = "10", "graceful shutdown deadline";
    ACTOR_STALL_MS = "60000", "a message still in its handler after this long is a stall";
    MONITOR_INTERVAL_MS = "5000",
        "how often queue depths, the pool and active users are sampled";
    LOG_LEVEL = "info", "error|warn|info|debug|trace or target=level,...";
    LOG_FORMAT = "pretty", "pretty | json";
    // Read by one subcommand, not by config (main.rs)
    ADMIN_PASSWORD = "", "`hexactor admin create`: the new admin's password (never on the command line)";
}

/// Variables a subcommand reads itself rather than `config`: `.env.example` shows them commented
/// out, since a value there would apply to every run.
pub const SUBCOMMAND_VARIABLES: &[Var] = &[ADMIN_PASSWORD];

/// The `--help` epilogue: every variable with its default.
pub fn help_text() -> String {
    let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut text = String::from(
        "Environment (read from the environment, then from ./.env, then these defaults):\n",
    );
    for Var {
        name,
        default,
        meaning,
    } in VARIABLES
    {
        let default = if *name == SECRET_KEY.name || *name == DATA_ENCRYPTION_KEY.name {
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
