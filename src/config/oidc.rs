//! The OpenID Connect provider: its issuer and its signing keys (read here, parsed by the
//! signer in `infrastructure::oidc_keys`, which knows RSA).

use super::{ConfigError, Env, err};
use crate::variables as var;

#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// `https://id.example.com` (no trailing slash): `iss` of every token and the base of the
    /// endpoints the discovery document names.
    pub issuer: String,
    /// (path, PEM) per key, the signing one first; empty: generate one at start-up.
    pub signing_keys: Vec<(String, String)>,
}

impl OidcSettings {
    pub(super) fn read(env: &Env<'_>, public_base_url: &str) -> Result<Self, ConfigError> {
        let issuer = match env.get(var::OIDC_ISSUER).trim() {
            "" => public_base_url.trim().to_owned(),
            set => set.to_owned(),
        };
        let issuer = issuer.trim_end_matches('/').to_owned();
        if !(issuer.starts_with("https://") || issuer.starts_with("http://"))
            || issuer.contains(['?', '#'])
        {
            return Err(err(
                var::OIDC_ISSUER.name,
                "an http(s) URL without query or fragment",
            ));
        }
        let mut signing_keys = Vec::new();
        let paths = env.get(var::OIDC_SIGNING_KEYS);
        for path in paths.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let pem = std::fs::read_to_string(path).map_err(|e| {
                err(
                    var::OIDC_SIGNING_KEYS.name,
                    format!("cannot read {path:?}: {e}"),
                )
            })?;
            signing_keys.push((path.to_owned(), pem));
        }
        Ok(Self {
            issuer,
            signing_keys,
        })
    }
}
