//! What an OAuth client is, and the rules for registering one (RFC 9700: exact redirect URIs,
//! no implicit or password grant, a public client cannot use client credentials).

use crate::domain::{FieldError, ValidationErrors};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client (SPA, native app, CLI): no secret, PKCE required.
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::None,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// The scopes this provider gives meaning to; a client may also be registered with scopes of its
/// own resource servers (they end up in access tokens only).
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// What an admin registers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: AuthMethod,
    pub scopes: Vec<String>,
    /// Trusted (operated by the same people): no consent page.
    pub first_party: bool,
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub id: Uuid,
    pub spec: ClientSpec,
    /// SHA-256 of the secret; `None` for a public client.
    pub secret_hash: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.spec.token_endpoint_auth_method == AuthMethod::None
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.spec.grant_types.contains(&grant)
    }

    /// Compared in constant time: the secret's hash, never the secret, is stored.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_hash
            .as_ref()
            .is_some_and(|stored| bool::from(secret_hash(secret).ct_eq(stored)))
    }
}

pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A scope token (RFC 6749 §3.3: printable ASCII except space, `"` and `\`).
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// An exact-match redirect URI: absolute, no fragment; https, or http to a loopback host (native
/// apps and development, RFC 8252 §7.3), or a private-use scheme (`com.example.app:/cb`).
fn valid_redirect(uri: &str) -> bool {
    if uri.len() > 2000 || uri.contains('#') || uri.chars().any(char::is_whitespace) {
        return false;
    }
    if let Some(rest) = uri.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    if let Some(rest) = uri.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        return matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    }
    uri.split_once(":/").is_some_and(|(scheme, _)| {
        scheme.contains('.')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.')
    })
}

impl ClientSpec {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut fail =
            |field, message: &str| errors.push(FieldError::new(field, "invalid", message));
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            fail("name", "1 to 100 characters");
        }
        if self.grant_types.is_empty() {
            fail("grant_types", "at least one grant type");
        }
        let code = self.grant_types.contains(&GrantType::AuthorizationCode);
        if code && self.redirect_uris.is_empty() {
            fail(
                "redirect_uris",
                "the authorization_code grant needs a redirect URI",
            );
        }
        if (self.redirect_uris.iter())
            .chain(&self.post_logout_redirect_uris)
            .any(|u| !valid_redirect(u))
        {
            fail(
                "redirect_uris",
                "absolute URIs without a fragment: https, http to localhost, or an app's own scheme",
            );
        }
        if self.grant_types.contains(&GrantType::RefreshToken) && !code {
            fail("grant_types", "refresh_token comes with authorization_code");
        }
        if self.token_endpoint_auth_method == AuthMethod::None
            && self.grant_types.contains(&GrantType::ClientCredentials)
        {
            fail(
                "grant_types",
                "a public client cannot use client_credentials",
            );
        }
        if self.scopes.is_empty()
            || self.scopes.len() > 50
            || !self.scopes.iter().all(|s| valid_scope_token(s))
        {
            fail("scopes", "1 to 50 scope tokens");
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ClientSpec {
        ClientSpec {
            name: "Grafana".into(),
            redirect_uris: vec!["https://grafana.example.com/login/generic_oauth".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
            scopes: vec!["openid".into(), "email".into()],
            first_party: false,
        }
    }

    #[test]
    fn redirect_uris_are_https_loopback_http_or_an_app_scheme() {
        assert!(spec().validate().is_ok());
        for bad in [
            "http://example.com/cb",
            "https://x.example/cb#f",
            "cb",
            "javascript:alert(1)",
        ] {
            let s = ClientSpec {
                redirect_uris: vec![bad.into()],
                ..spec()
            };
            assert!(s.validate().is_err(), "{bad}");
        }
        for good in [
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "com.example.app:/cb",
        ] {
            let s = ClientSpec {
                redirect_uris: vec![good.into()],
                ..spec()
            };
            assert!(s.validate().is_ok(), "{good}");
        }
    }

    #[test]
    fn a_public_client_has_no_client_credentials_grant() {
        let s = ClientSpec {
            token_endpoint_auth_method: AuthMethod::None,
            grant_types: vec![GrantType::ClientCredentials],
            ..spec()
        };
        assert!(s.validate().is_err());
    }

    #[test]
    fn a_secret_matches_its_hash_only() {
        let client = Client {
            id: Uuid::now_v7(),
            spec: spec(),
            secret_hash: Some(secret_hash("s3cret")),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert!(client.secret_matches("s3cret"));
        assert!(!client.secret_matches("s3creT"));
    }
}
