//! The proxies whose forwarding headers name the client (`TRUSTED_PROXIES`). Parsed here, with
//! the rest of the configuration, so that configuration needs nothing from the HTTP adapter; the
//! adapter (`http::client_address`) uses it to find the client's address.

use ipnet::IpNet;
use std::net::IpAddr;

/// The proxies (load balancers, ingress) whose forwarding headers we believe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated CIDRs or single addresses (`10.0.0.0/8, 192.168.1.7`).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an address or CIDR: {s:?}"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_networks_parse_and_nonsense_does_not() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        assert!(trusted.contains(&"10.1.2.3".parse().unwrap()));
        assert!(trusted.contains(&"192.168.1.7".parse().unwrap()));
        assert!(!trusted.contains(&"192.168.1.8".parse().unwrap()));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
    }
}
