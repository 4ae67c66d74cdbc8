//! The HTTP listeners and what guards the public one: CORS, rate limiting, trusted proxies.

use super::trusted_proxies::TrustedProxies;
use super::{ConfigError, Env, err};
use crate::variables as var;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    /// Where `/metrics` and `/debug/*` are served: never the public port.
    pub ops_host: String,
    pub ops_port: u16,
    /// A worker's ops port (a worker has no public listener), bound to `ops_host`.
    pub worker_port: u16,
    /// How long the API waits for a command's outcome before answering 202.
    pub command_wait: Duration,
    pub allowed_origins: Vec<String>,
    /// Requests a minute per client on the unauthenticated endpoints, per replica (0: off).
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    /// The rate is held in PostgreSQL, shared by every replica (else each replica has its own).
    pub rate_limit_shared: bool,
    /// Proxies whose X-Forwarded-For / Forwarded headers name the client.
    pub trusted_proxies: TrustedProxies,
}

impl HttpSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            host: env.get(var::HOST),
            port: env.num(var::PORT, 0, 65535)?,
            ops_host: env.get(var::OPS_HOST),
            ops_port: env.num(var::OPS_PORT, 0, 65535)?,
            worker_port: env.num(var::WORKER_PORT, 0, 65535)?,
            command_wait: env.seconds(var::COMMAND_WAIT_SECONDS, 0, 60)?,
            allowed_origins: env.list(var::ALLOWED_ORIGINS),
            rate_limit_per_minute: env.num(var::RATE_LIMIT_PER_MINUTE, 0, 1_000_000)?,
            rate_limit_burst: env.num(var::RATE_LIMIT_BURST, 1, 1_000_000)?,
            rate_limit_shared: env.choice(
                var::RATE_LIMIT_SHARED,
                &[("true", true), ("1", true), ("false", false), ("0", false)],
                "true or false",
            )?,
            trusted_proxies: TrustedProxies::parse(&env.get(var::TRUSTED_PROXIES))
                .map_err(|e| err(var::TRUSTED_PROXIES.name, e))?,
        })
    }
}
