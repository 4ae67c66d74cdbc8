//! Who the client is, for rate limits and failed-login throttling: the TCP peer, unless that
//! peer is one of our own proxies (`TRUSTED_PROXIES`). Then the forwarding headers say who it
//! forwarded for — read from the right, because each proxy appends, and only the entries our
//! own proxies added can be believed; the first address that is not a trusted proxy is the
//! client. A client talking to us directly cannot forge its address with these headers.

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::{Ready, ready};
use std::net::IpAddr;

pub use crate::config::TrustedProxies;

/// The client's address as this service sees it (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    pub fn of(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Self {
        if !trusted.contains(&peer) {
            return Self(peer);
        }
        let mut client = peer;
        for hop in forwarded_chain(headers).iter().rev() {
            match hop {
                // An entry we cannot read ("unknown", an obfuscated name): the proxy that wrote
                // it is the last address we know; stop there.
                None => break,
                Some(ip) => {
                    client = *ip;
                    if !trusted.contains(ip) {
                        break;
                    }
                }
            }
        }
        Self(client)
    }

    pub fn from_request(req: &HttpRequest) -> Option<Self> {
        let peer = req.peer_addr()?.ip();
        let trusted = req.app_data::<web::Data<TrustedProxies>>();
        let none = TrustedProxies::default();
        Some(Self::of(
            peer,
            req.headers(),
            trusted.map_or(&none, |t| t.get_ref()),
        ))
    }
}

impl FromRequest for ClientAddress {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            Self::from_request(req)
                .ok_or_else(|| actix_web::error::ErrorInternalServerError("no peer address")),
        )
    }
}

/// The forwarded-for chain, oldest first: `Forwarded` (RFC 7239) if present, else
/// `X-Forwarded-For`. Every header line counts, in order.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    };
    let forwarded = lines("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_node(v))
            })
            .collect();
    }
    lines("x-forwarded-for")
        .iter()
        .flat_map(|line| line.split(','))
        .map(parse_node)
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let node = raw.trim().trim_matches('"');
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            ClientAddress::of(ip("198.51.100.1"), &h, &trusted).0,
            ip("198.51.100.1")
        );
        assert_eq!(
            ClientAddress::of(ip("10.0.0.1"), &h, &TrustedProxies::default()).0,
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        // The client forged the first entry; our two proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(
            ClientAddress::of(ip("10.0.0.1"), &h, &trusted).0,
            ip("203.0.113.9")
        );
        let h = headers(&[
            ("forwarded", "for=1.2.3.4"),
            (
                "forwarded",
                "for=\"[2001:db8::17]:4711\";proto=https, for=192.168.1.7",
            ),
        ]);
        assert_eq!(
            ClientAddress::of(ip("10.0.0.1"), &h, &trusted).0,
            ip("2001:db8::17")
        );
        let h = headers(&[("x-forwarded-for", "203.0.113.9:5555")]);
        assert_eq!(
            ClientAddress::of(ip("10.0.0.1"), &h, &trusted).0,
            ip("203.0.113.9")
        );
    }

    #[test]
    fn unreadable_hops_stop_at_the_proxy_that_wrote_them() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(
            ClientAddress::of(ip("10.0.0.1"), &h, &trusted).0,
            ip("10.0.0.1")
        );
    }
}
