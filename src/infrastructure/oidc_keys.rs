//! The OpenID Connect provider's signing keys: RS256 with `ring`, whose RSA private-key
//! operations run in constant time. (`jsonwebtoken`'s `rust_crypto` backend would sign with the
//! `rsa` crate, which carries RUSTSEC-2023-0071, a timing side channel on exactly that
//! operation; `rsa` is used here only to *generate* the development key, a one-off that no
//! attacker can time.)
//!
//! Every key of `OIDC_SIGNING_KEYS` is published in the JWKS under its RFC 7638 thumbprint as
//! `kid`, and verifies; the first one signs. Without keys a 2048-bit key is generated at start-up
//! and the log says so: tokens then stop verifying at every restart.

use crate::application::oauth2::JwtSigner;
use crate::application::ports::InfraError;
use crate::config::oidc::OidcSettings;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: not a PEM private key (PKCS#8 \"PRIVATE KEY\" or PKCS#1 \"RSA PRIVATE KEY\")")]
    NotPem { path: String },
    #[error("{path}: not an RSA private key ring accepts: {reason}")]
    Rejected { path: String, reason: String },
    #[error("generating the development key failed")]
    Generate(#[source] Box<dyn std::error::Error + Send + Sync>),
}

struct Key {
    kid: String,
    pair: RsaKeyPair,
    public: RsaPublicKeyComponents<Vec<u8>>,
}

impl Key {
    fn new(pair: RsaKeyPair) -> Self {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        // RFC 7638: SHA-256 over the required members in lexicographic order.
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            B64.encode(&public.e),
            B64.encode(&public.n)
        );
        let kid = B64.encode(Sha256::digest(canonical.as_bytes()));
        Self { kid, pair, public }
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": B64.encode(&self.public.n), "e": B64.encode(&self.public.e),
        })
    }
}

pub struct OidcKeys {
    /// The first signs.
    keys: Vec<Key>,
    random: SystemRandom,
}

/// The DER inside a PEM block, and its label.
fn pem_body(pem: &str) -> Option<(String, Vec<u8>)> {
    let begin = pem.find("-----BEGIN ")?;
    let rest = &pem[begin + 11..];
    let label = rest[..rest.find("-----")?].to_owned();
    let body_start = rest.find("-----")? + 5;
    let end = rest.find(&format!("-----END {label}-----"))?;
    let body: String = rest[body_start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label, der))
}

fn parse(path: &str, pem: &str) -> Result<RsaKeyPair, KeyError> {
    let (label, der) = pem_body(pem).ok_or_else(|| KeyError::NotPem { path: path.into() })?;
    let rejected = |e: ring::error::KeyRejected| KeyError::Rejected {
        path: path.into(),
        reason: e.to_string(),
    };
    match label.as_str() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der).map_err(rejected),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der).map_err(rejected),
        _ => Err(KeyError::NotPem { path: path.into() }),
    }
}

fn generate() -> Result<RsaKeyPair, KeyError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| KeyError::Generate(Box::new(e)))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(Box::new(e)))?;
    RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| KeyError::Generate(e.to_string().into()))
}

impl OidcKeys {
    pub fn new(settings: &OidcSettings) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for (path, pem) in &settings.signing_keys {
            keys.push(Key::new(parse(path, pem)?));
        }
        if keys.is_empty() {
            keys.push(Key::new(generate()?));
            tracing::warn!(
                kid = %keys[0].kid,
                "OIDC_SIGNING_KEYS is unset: generated an RSA signing key in memory; \
                 ID and access tokens stop verifying when this process restarts"
            );
        }
        Ok(Self {
            keys,
            random: SystemRandom::new(),
        })
    }
}

impl JwtSigner for OidcKeys {
    fn sign(&self, typ: &str, claims: &Value) -> Result<String, InfraError> {
        let key = &self.keys[0];
        let header = json!({ "alg": "RS256", "typ": typ, "kid": key.kid });
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let mut signature = vec![0; key.pair.public().modulus_len()];
        key.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.random,
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| InfraError::msg("RS256 signing failed"))?;
        Ok(format!("{input}.{}", B64.encode(signature)))
    }

    fn verify(&self, token: &str, typ: &str) -> Option<Map<String, Value>> {
        let mut parts = token.split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let head: Map<String, Value> = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        // The algorithm is pinned (no `none`, no HS256 with the public key as secret).
        if head.get("alg")?.as_str()? != "RS256" || head.get("typ")?.as_str()? != typ {
            return None;
        }
        let kid = head.get("kid")?.as_str()?;
        let key = self.keys.iter().find(|k| k.kid == kid)?;
        let input = &token[..header.len() + 1 + claims.len()];
        key.public
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &B64.decode(signature).ok()?,
            )
            .ok()?;
        serde_json::from_slice(&B64.decode(claims).ok()?).ok()
    }

    fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(Key::jwk).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_set() -> OidcKeys {
        OidcKeys::new(&OidcSettings {
            issuer: "http://localhost".into(),
            signing_keys: vec![],
        })
        .unwrap()
    }

    #[test]
    fn a_signed_token_verifies_and_an_edited_one_does_not() {
        let keys = key_set();
        let token = keys.sign("JWT", &json!({ "sub": "ada" })).unwrap();
        assert_eq!(keys.verify(&token, "JWT").unwrap()["sub"], "ada");
        assert!(
            keys.verify(&token, "at+jwt").is_none(),
            "the typ is checked"
        );
        let (head, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let forged = format!("{head}.{}.{sig}", B64.encode(r#"{"sub":"eve"}"#));
        assert!(keys.verify(&forged, "JWT").is_none());
        assert!(key_set().verify(&token, "JWT").is_none(), "another key set");
        let jwks = keys.jwks();
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
    }
}
