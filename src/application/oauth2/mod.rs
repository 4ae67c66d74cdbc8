//! The OpenID Connect provider's use cases: registering clients (commands, like users), the
//! authorization code flow with PKCE, the token endpoint (authorization code, refresh,
//! client credentials), userinfo, revocation, introspection and RP-initiated logout.
//!
//! Clients are data and change by command (through RabbitMQ, with events). Codes, grants and
//! consent are written directly by the API replica, like logins and revocations: an authorization
//! code must exist the moment its redirect is answered (the client redeems it within a second),
//! a redeemed code must be spent before the tokens leave, and a revocation must hold when its
//! `200` is sent — none of them can wait for a worker.
//!
//! `ports` are the messages the stores answer; [`JwtSigner`] signs and checks tokens (RS256 on
//! `ring`, in `infrastructure::oidc_keys`). One actor, [`service::OAuth2Service`], answers the
//! flows (`authorize`, `token`, `resource`); [`clients::ClientAdmin`] the client commands.

pub mod claims;
pub mod clients;
pub mod ports;
pub mod service;

/// What a client is (a module of its own: the client commands carry it too).
pub use super::oauth2_client as model;

mod authorize;
mod resource;
mod token;

pub use authorize::{AuthorizationRequest, Authorize, AuthorizeOutcome, Consent, SignedIn};
pub use resource::{EndSession, Introspect, Revoke, UserInfo};
pub use token::{ClientAuth, Token, TokenRequest, TokenResponse};

use super::ports::InfraError;
use serde_json::{Map, Value};

/// Signs and checks the provider's JWTs (ID tokens, access tokens). A trait, like
/// `ports::TokenService`: a few hundred microseconds of CPU and no I/O.
pub trait JwtSigner: Send + Sync {
    /// A compact JWS of `claims` with header `typ` (`JWT`, `at+jwt`) by the signing key.
    fn sign(&self, typ: &str, claims: &Value) -> Result<String, InfraError>;
    /// The claims of a token signed by one of the published keys with header `typ`: the
    /// signature is checked, no claim is (the caller checks what its endpoint needs).
    fn verify(&self, token: &str, typ: &str) -> Option<Map<String, Value>>;
    /// Every published key, as a JSON Web Key Set.
    fn jwks(&self) -> Value;
}

/// An OAuth 2.0 error answer (RFC 6749 §5.2, RFC 6750 §3.1): the standard code and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    /// A dependency failed: the standard `server_error`/`temporarily_unavailable` codes.
    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "an OAuth request failed on a dependency");
        Self::new("temporarily_unavailable", "try again shortly")
    }
}

impl From<InfraError> for OAuthError {
    fn from(e: InfraError) -> Self {
        Self::unavailable(actors::ErrorChain(&e))
    }
}

impl From<actix::MailboxError> for OAuthError {
    fn from(e: actix::MailboxError) -> Self {
        Self::unavailable(e)
    }
}

/// Space-separated scopes, deduplicated in order.
pub fn scopes_of(s: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in s.split(' ').filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|x| x == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

/// RFC 7636 S256: BASE64URL(SHA-256(verifier)) equals the challenge; the verifier is 43 to 128
/// unreserved characters.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    use base64::Engine as _;
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// 256 random bits, URL-safe (codes, client secrets).
pub fn random_token() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(super::mfa::random_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"
        ));
        assert!(!pkce_matches(challenge, "short"));
    }

    #[test]
    fn scopes_are_split_on_spaces_once_each() {
        assert_eq!(scopes_of(" openid  email openid"), vec!["openid", "email"]);
    }
}
