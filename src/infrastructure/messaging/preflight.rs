//! A broker whose certificate this process will never trust is a configuration error: one
//! connection attempt at start-up turns it into one clear line and a non-zero exit, instead of
//! a connection manager retrying forever behind a service that looks alive.

use crate::config::Settings;
use ::actors::rabbit::{self, certificate_problem};
use lapin::ConnectionProperties;
use std::time::Duration;

/// How long the start-up attempt may take; a broker that is merely down or slow is left to the
/// connection manager's retries (the API accepts commands into the outbox meanwhile).
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error(
    "RABBITMQ_URL: TLS: the broker's certificate is not trusted ({problem}); check RABBITMQ_CA_FILE and the host name in the URL"
)]
pub struct UntrustedBroker {
    pub problem: String,
}

/// For `amqps://` only: fails when the TLS handshake rejects the broker's certificate.
#[tracing::instrument(skip_all)]
pub async fn check_broker_certificate(settings: &Settings) -> Result<(), UntrustedBroker> {
    // A cluster's URLs are comma-separated; one node is enough to judge the certificate set-up.
    let url = settings
        .messaging
        .rabbitmq_url
        .expose()
        .split(',')
        .next()
        .unwrap_or_default()
        .trim();
    if !url.starts_with("amqps://") {
        return Ok(());
    }
    let properties =
        ConnectionProperties::default().with_connection_name("hexactor-preflight".into());
    let attempt = rabbit::open(url, properties, &settings.messaging.rabbitmq_tls);
    match tokio::time::timeout(PREFLIGHT_TIMEOUT, attempt).await {
        Ok(Ok(conn)) => {
            let _ = conn.close(200, "preflight".into()).await;
            Ok(())
        }
        Ok(Err(error)) => match certificate_problem(&error) {
            Some(problem) => Err(UntrustedBroker { problem }),
            None => {
                tracing::warn!(%error, "broker not reachable at start-up; the connection manager keeps trying");
                Ok(())
            }
        },
        Err(_) => {
            tracing::warn!(
                "broker did not answer at start-up; the connection manager keeps trying"
            );
            Ok(())
        }
    }
}
