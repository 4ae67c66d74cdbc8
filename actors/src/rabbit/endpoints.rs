//! The broker endpoints a process may connect to: one AMQP URL, or a comma-separated list of the
//! nodes of a RabbitMQ cluster.
//!
//! Order: each process starts at a random position in the list (so that the replicas of a
//! deployment spread over the nodes instead of all piling onto the first one), then walks the
//! list in order, wrapping around: after a failed attempt or a lost connection the next attempt
//! goes to the next URL. A node that is down therefore costs one backoff step, not a stall.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EndpointsError {
    #[error("no AMQP URL given")]
    Empty,
    #[error("'{0}' is not an amqp:// or amqps:// URL")]
    NotAmqp(String),
}

/// One broker node: its URL (with credentials; never logged) and a label without them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    /// `host:port`, for logs and the `amqp_connected_node` metric.
    pub node: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Self, EndpointsError> {
        let rest = url
            .strip_prefix("amqp://")
            .map(|r| (r, 5672))
            .or_else(|| url.strip_prefix("amqps://").map(|r| (r, 5671)));
        let Some((rest, default_port)) = rest else {
            return Err(EndpointsError::NotAmqp(redact(url)));
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        if host_port.is_empty() {
            return Err(EndpointsError::NotAmqp(redact(url)));
        }
        let node = if host_port
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        {
            host_port.to_owned()
        } else {
            format!("{host_port}:{default_port}")
        };
        Ok(Self {
            url: url.to_owned(),
            node,
        })
    }
}

/// A URL with its userinfo replaced, safe for an error message.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The endpoint list and the position of the next attempt.
#[derive(Clone, Debug)]
pub struct Endpoints {
    list: Vec<Endpoint>,
    next: usize,
}

impl Endpoints {
    /// Parses `urls` (comma-separated, blanks around commas ignored) and starts at a random
    /// position.
    pub fn parse(urls: &str) -> Result<Self, EndpointsError> {
        let mut endpoints = Self::parse_in_order(urls)?;
        endpoints.next = (uuid::Uuid::new_v4().as_u128() % endpoints.list.len() as u128) as usize;
        Ok(endpoints)
    }

    /// Parses `urls` and starts at the first one.
    pub fn parse_in_order(urls: &str) -> Result<Self, EndpointsError> {
        let list = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(Endpoint::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if list.is_empty() {
            return Err(EndpointsError::Empty);
        }
        Ok(Self { list, next: 0 })
    }

    /// The endpoint to try now; the following call returns the next one in the list.
    pub fn advance(&mut self) -> &Endpoint {
        let i = self.next;
        self.next = (self.next + 1) % self.list.len();
        &self.list[i]
    }

    pub fn all(&self) -> &[Endpoint] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(e: &mut Endpoints, n: usize) -> Vec<String> {
        (0..n).map(|_| e.advance().node.clone()).collect()
    }

    #[test]
    fn a_single_url_is_one_endpoint() {
        let mut e = Endpoints::parse("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
        assert_eq!(nodes(&mut e, 3), ["127.0.0.1:5672"; 3]);
        assert_eq!(e.all()[0].url, "amqp://guest:guest@127.0.0.1:5672/%2f");
    }

    #[test]
    fn a_list_rotates_in_order_and_wraps() {
        let mut e = Endpoints::parse_in_order(
            "amqp://u:p@a:1/%2f, amqp://u:p@b:2/%2f,amqp://u:p@c:3/vhost?heartbeat=10",
        )
        .unwrap();
        assert_eq!(nodes(&mut e, 4), ["a:1", "b:2", "c:3", "a:1"]);
        assert_eq!(e.all()[2].url, "amqp://u:p@c:3/vhost?heartbeat=10");
    }

    #[test]
    fn default_ports_and_no_credentials() {
        let e = Endpoints::parse_in_order("amqp://rabbit1,amqps://rabbit2/%2f").unwrap();
        let nodes: Vec<_> = e.all().iter().map(|n| n.node.as_str()).collect();
        assert_eq!(nodes, ["rabbit1:5672", "rabbit2:5671"]);
    }

    #[test]
    fn a_random_start_still_visits_every_node_once_per_turn() {
        for _ in 0..20 {
            let mut e = Endpoints::parse("amqp://a,amqp://b,amqp://c").unwrap();
            let mut seen = nodes(&mut e, 3);
            seen.sort();
            assert_eq!(seen, ["a:5672", "b:5672", "c:5672"]);
        }
    }

    #[test]
    fn bad_input_is_refused_without_leaking_the_password() {
        assert_eq!(Endpoints::parse(" , ").unwrap_err(), EndpointsError::Empty);
        let err = Endpoints::parse("amqp://a,http://user:secret@b").unwrap_err();
        assert_eq!(err, EndpointsError::NotAmqp("http://***@b".into()));
        assert!(!err.to_string().contains("secret"));
        assert!(matches!(
            Endpoints::parse("amqp://"),
            Err(EndpointsError::NotAmqp(_))
        ));
    }
}
