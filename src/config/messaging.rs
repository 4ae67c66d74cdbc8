//! RabbitMQ: the broker, the names of everything on it, queue kinds, retries and prefetch.

use super::{ConfigError, Env, err, num};
use crate::variables as var;
use ::actors::rabbit::{AmqpTls, QueueKind};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct MessagingSettings {
    /// One URL, or the comma-separated nodes of a cluster (see `actors::rabbit::Endpoints`).
    pub rabbitmq_url: super::Secret,
    /// For `amqps://`: the CA bundle from `RABBITMQ_CA_FILE` (the system's roots are trusted too).
    pub rabbitmq_tls: AmqpTls,
    pub amqp_prefix: String,
    pub queue_kind: QueueKind,
    pub retry_tiers: Vec<Duration>,
    pub max_attempts: u32,
    pub worker_prefetch: u16,
    /// A worker subscription with no delivery for this long is renewed (`None`: never); the
    /// broker can forget a consumer without telling it (`actors` `consumer/watch.rs`).
    pub renew_when_idle: Option<Duration>,
}

impl MessagingSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let queue_kind = env.choice(
            var::QUEUE_TYPE,
            &[
                ("quorum", QueueKind::Quorum),
                ("classic", QueueKind::Classic),
            ],
            "quorum or classic",
        )?;
        let retry_tiers = env
            .get(var::RETRY_DELAYS_MS)
            .split(',')
            .map(|s| num(var::RETRY_DELAYS_MS.name, s, 1u64, 86_400_000).map(Duration::from_millis))
            .collect::<Result<Vec<_>, _>>()?;
        let rabbitmq_url = env.get(var::RABBITMQ_URL);
        if let Err(e) = ::actors::rabbit::Endpoints::parse_in_order(&rabbitmq_url) {
            return Err(err(
                var::RABBITMQ_URL.name,
                format!("must be one or more comma-separated amqp:// URLs: {e}"),
            ));
        }
        let rabbitmq_tls = tls(&rabbitmq_url, &env.get(var::RABBITMQ_CA_FILE))?;
        let amqp_prefix = env.get(var::AMQP_PREFIX);
        if !amqp_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(err(
                var::AMQP_PREFIX.name,
                "only letters, digits, '_', '-' and '.' are allowed",
            ));
        }
        Ok(Self {
            rabbitmq_url: super::Secret::new(rabbitmq_url),
            rabbitmq_tls,
            amqp_prefix,
            queue_kind,
            retry_tiers,
            max_attempts: env.num(var::MAX_ATTEMPTS, 1, 100)?,
            worker_prefetch: env.num(var::WORKER_PREFETCH, 1, 1000)?,
            renew_when_idle: Some(env.seconds(var::CONSUMER_RENEW_IDLE_SECONDS, 0, 86_400)?)
                .filter(|d| !d.is_zero()),
        })
    }
}

/// `RABBITMQ_CA_FILE`: a PEM bundle, read once at start-up; only meaningful with `amqps://`.
fn tls(url: &str, ca_file: &str) -> Result<AmqpTls, ConfigError> {
    let variable = var::RABBITMQ_CA_FILE.name;
    if ca_file.is_empty() {
        return Ok(AmqpTls::default());
    }
    if !url.starts_with("amqps://") {
        return Err(err(
            variable,
            "set, but RABBITMQ_URL is not amqps:// (the connection would not use TLS)",
        ));
    }
    let pem = std::fs::read_to_string(ca_file)
        .map_err(|e| err(variable, format!("cannot read {ca_file:?}: {e}")))?;
    // rustls skips what it cannot parse: without this check a wrong file would only show up
    // as "unknown issuer" at connect time.
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(err(
            variable,
            format!("{ca_file:?} holds no PEM certificate"),
        ));
    }
    Ok(AmqpTls { ca_pem: Some(pem) })
}
