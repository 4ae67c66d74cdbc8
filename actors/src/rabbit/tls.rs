//! Opening an AMQP connection, over TLS for `amqps://` URLs.
//!
//! TLS is rustls (ring): the server certificate is always verified, against the system's roots
//! plus an optional CA bundle (a private CA, as managed brokers and self-hosted clusters use).
//! There is deliberately no switch to turn verification off.

use lapin::tcp::OwnedTLSConfig;
use lapin::{Connection, ConnectionProperties};

/// The TLS side of a connection: which extra certificate authorities to trust.
#[derive(Clone, Debug, Default)]
pub struct AmqpTls {
    /// PEM text of one or more CA certificates, trusted in addition to the system's roots.
    pub ca_pem: Option<String>,
}

/// Connects to `uri` (`amqp://` or `amqps://`). TLS settings apply only to `amqps://`.
pub async fn open(
    uri: &str,
    properties: ConnectionProperties,
    tls: &AmqpTls,
) -> lapin::Result<Connection> {
    let config = OwnedTLSConfig {
        identity: None,
        cert_chain: tls.ca_pem.clone(),
    };
    Connection::connect_with_config(uri, properties, config, lapin::runtime::default_runtime()?)
        .await
}

/// The certificate problem behind `error`, if the TLS handshake failed because the broker's
/// certificate was not trusted (unknown CA, wrong host name, expired...). Such a failure is a
/// configuration error, not an outage: retrying cannot fix it, so callers fail fast on it.
pub fn certificate_problem(error: &lapin::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(problem) = certificate_text(&inner.to_string())
        {
            return Some(problem);
        }
        if let Some(problem) = certificate_text(&e.to_string()) {
            return Some(problem);
        }
        source = e.source();
    }
    None
}

/// rustls words every verification failure as "invalid peer certificate: <reason>".
fn certificate_text(text: &str) -> Option<String> {
    text.find("invalid peer certificate")
        .map(|at| text[at..].lines().next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_rustls_certificate_failures_only() {
        assert_eq!(
            certificate_text("IO error: invalid peer certificate: UnknownIssuer").as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        assert_eq!(certificate_text("Connection refused (os error 111)"), None);
    }
}
