//! Outbound HTTP that a configuration value points somewhere (the breached-password range API):
//! by default it may reach only public addresses. Private, loopback, link-local (which holds the
//! cloud metadata service, 169.254.169.254), shared, documentation and multicast ranges are
//! refused, so that a URL set by mistake or by someone who can edit the configuration cannot
//! make the service probe its own network (SSRF). The host is resolved here and *every* address
//! checked, and the connection goes to one of the checked addresses (no second lookup that DNS
//! rebinding could answer differently). `OUTBOUND_ALLOW_PRIVATE_ADDRESSES=true` lifts the rule,
//! for tests against a server on 127.0.0.1.

use actix_tls::connect::{Resolve, Resolver};
use futures_util::future::LocalBoxFuture;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {address}, which is not a public address")]
pub struct PrivateAddress {
    pub host: String,
    pub address: IpAddr,
}

/// May outbound HTTP connect to `ip` by default?
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: the metadata service of AWS, GCP, Azure, ...
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 shared (CGNAT; Alibaba's metadata)
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || ip.is_multicast()
        || a >= 240) // reserved, and the broadcast address
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    // Addresses that embed an IPv4 one are judged by it: mapped (::ffff:a.b.c.d), NAT64
    // (64:ff9b::/96) and 6to4 (2002::/16).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    if segments[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::from(
            (u32::from(segments[1]) << 16) | u32::from(segments[2]),
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || (segments[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local (AWS's fd00:ec2::254)
        || (segments[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (segments[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || ip.is_multicast()
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

/// Every address of `host`, refused whole if any one is not public (unless `allow_private`).
pub async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port)).await?.collect(),
    };
    if !allow_private && let Some(bad) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(Box::new(PrivateAddress {
            host: host.to_owned(),
            address: bad.ip(),
        }));
    }
    Ok(addresses)
}

/// A URL whose host is an IP literal never reaches the resolver (awc dials it directly), so
/// such a host is checked here, before the request is sent.
pub fn check_literal_host(url: &str, allow_private: bool) -> Result<(), PrivateAddress> {
    let host = url
        .parse::<awc::http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(str::to_owned))
        .unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(address) if !allow_private && !is_public(address) => Err(PrivateAddress {
            host: host.clone(),
            address,
        }),
        _ => Ok(()),
    }
}

/// The resolver awc connects through: [`resolve`], so that only checked addresses are dialled.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn std::error::Error>>> {
        Box::pin(resolve(host, port, self.allow_private))
    }
}

/// An HTTP client that follows the rule above. Redirects are not followed: a redirect to an IP
/// literal would bypass the resolver. TLS is rustls on ring with the system's roots. Call it on
/// the thread that uses it (awc's client is not `Send`).
pub fn client(allow_private: bool, timeout: Duration) -> awc::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    let tcp =
        actix_tls::connect::Connector::new(Resolver::custom(CheckedResolver { allow_private }))
            .service();
    let mut connector = awc::Connector::new().connector(tcp).timeout(timeout);
    if let Ok(mut tls) = tls {
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        connector = connector.rustls_0_23(Arc::new(tls));
    }
    awc::ClientBuilder::new()
        .connector(connector)
        .disable_redirects()
        .timeout(timeout)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for refused in [
            "10.0.0.1",
            "10.255.255.255",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::10.0.0.1",
            "2002:a00:1::",
            "2001:db8::1",
        ] {
            assert!(!public(refused), "{refused} must be refused");
        }
        for allowed in [
            "1.1.1.1",
            "104.16.0.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::6810:84e5",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(allowed), "{allowed} is public");
        }
    }

    #[actix_rt::test]
    async fn resolution_checks_every_address_and_the_opt_in_lifts_the_rule() {
        let refused = resolve("127.0.0.1", 80, false).await.unwrap_err();
        assert!(
            refused.to_string().contains("not a public address"),
            "{refused}"
        );
        let refused = resolve("localhost", 80, false).await.unwrap_err();
        assert!(
            refused.to_string().contains("not a public address"),
            "{refused}"
        );
        assert!(resolve("[::1]", 80, false).await.is_err());
        assert!(check_literal_host("http://127.0.0.1:8080/range/ABCDE", false).is_err());
        assert!(check_literal_host("http://[::1]:8080/", false).is_err());
        assert!(check_literal_host("https://169.254.169.254/", false).is_err());
        assert!(check_literal_host("https://api.pwnedpasswords.com/", false).is_ok());
        assert!(check_literal_host("http://127.0.0.1:8080/", true).is_ok());
        let allowed = resolve("127.0.0.1", 8080, true).await.unwrap();
        assert_eq!(allowed, ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);
    }
}
