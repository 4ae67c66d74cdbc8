//! JWT access tokens (jsonwebtoken). Validation is strict on purpose:
//! - the algorithm is pinned to the configured one (`alg: none`, HS/EdDSA confusion rejected);
//! - the key comes from our own key set by `kid`, never from the token (`jwk`, `jku`, `x5u`,
//!   `x5c` headers are refused outright);
//! - `sub`, `exp`, `iat`, `nbf`, `iss`, `aud`, `jti` and `typ` are required, `typ` must be
//!   `access` (a refresh token is opaque and never a JWT, but a JWT of another type is refused);
//! - leeway is at most 30 s.
//!
//! Everything that is constant is prepared once, in `JwtService::new`: the keys, and for HMAC the
//! keyed MAC state itself (padding the secret into the inner and outer blocks is two SHA-256
//! compressions; a clone of the keyed state skips them). Verification parses the header once and
//! the claims once into `AccessClaims` and checks them here, instead of `jsonwebtoken::decode`,
//! which parses the header three times, the claims twice (once into a JSON map) and builds a
//! boxed verifier from the key on every call: it was 15 % of the API's instructions per
//! authenticated request.

use crate::application::ports::{
    InfraError, IssuedToken, TokenRejected, TokenService, VerifiedToken,
};
use crate::config::{AuthSettings, JwtKeys};
use crate::domain::{Principal, UserId};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use uuid::Uuid;

pub const ACCESS: &str = "access";

/// JWS uses unpadded base64url (RFC 7515 §2).
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
    pub typ: String,
    pub sid: String,
    pub role: String,
}

/// How a token's signature is checked, prepared once per key.
enum Verifier {
    /// HS256: the MAC already keyed with the secret; cloned per token.
    Hmac(Hmac<Sha256>),
    /// EdDSA: the public key (jsonwebtoken verifies).
    Public(DecodingKey),
}

pub struct JwtService {
    algorithm: Algorithm,
    signing_kid: String,
    signing_key: EncodingKey,
    verifying: HashMap<String, Verifier>,
    jwks: JwkSet,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    leeway: i64,
    issuer: String,
    audience: String,
    access_ttl: chrono::Duration,
}

impl JwtService {
    pub fn new(settings: &AuthSettings, secret: &str) -> Result<Self, String> {
        let (algorithm, keys): (Algorithm, Vec<(String, EncodingKey, DecodingKey)>) =
            match &settings.keys {
                JwtKeys::Hmac => (
                    Algorithm::HS256,
                    vec![(
                        "hs256".to_owned(),
                        EncodingKey::from_secret(secret.as_bytes()),
                        DecodingKey::from_secret(secret.as_bytes()),
                    )],
                ),
                JwtKeys::Ed25519(pems) => {
                    let mut keys = Vec::new();
                    for (kid, pem) in pems {
                        let enc = EncodingKey::from_ed_pem(pem.as_bytes())
                            .map_err(|e| format!("key {kid}: {e}"))?;
                        let jwk = Jwk::from_encoding_key(&enc, Algorithm::EdDSA)
                            .map_err(|e| format!("key {kid}: {e}"))?;
                        let dec =
                            DecodingKey::from_jwk(&jwk).map_err(|e| format!("key {kid}: {e}"))?;
                        keys.push((kid.clone(), enc, dec));
                    }
                    (Algorithm::EdDSA, keys)
                }
            };
        let jwks = JwkSet {
            keys: match algorithm {
                Algorithm::EdDSA => keys
                    .iter()
                    .filter_map(|(kid, enc, _)| {
                        let mut jwk = Jwk::from_encoding_key(enc, algorithm).ok()?;
                        jwk.common.key_id = Some(kid.clone());
                        jwk.common.public_key_use =
                            Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
                        Some(jwk)
                    })
                    .collect(),
                _ => Vec::new(),
            },
        };
        let (signing_kid, signing_key, _) = keys.first().cloned().ok_or("no signing key")?;
        let verifying = match &settings.keys {
            JwtKeys::Hmac => {
                let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                    .map_err(|e| format!("HMAC key: {e}"))?;
                HashMap::from([("hs256".to_owned(), Verifier::Hmac(mac))])
            }
            JwtKeys::Ed25519(_) => keys
                .into_iter()
                .map(|(kid, _, dec)| (kid, Verifier::Public(dec)))
                .collect(),
        };
        Ok(Self {
            algorithm,
            signing_kid,
            signing_key,
            verifying,
            jwks,
            leeway: settings.leeway.as_secs().min(30) as i64,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl: chrono::Duration::from_std(settings.access_ttl)
                .map_err(|e| e.to_string())?,
        })
    }
}

impl TokenService for JwtService {
    fn issue_access(&self, principal: &Principal) -> Result<IssuedToken, InfraError> {
        let now = chrono::Utc::now();
        let expires_at = now + self.access_ttl;
        let claims = AccessClaims {
            sub: principal.user_id.to_string(),
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: Uuid::new_v4().to_string(),
            typ: ACCESS.to_owned(),
            sid: principal.session_id.to_string(),
            role: principal.role.as_str().to_owned(),
        };
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.signing_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing_key)
            .map_err(|e| InfraError::new("signing a token", e))?;
        crate::metrics::token_issued();
        Ok(IssuedToken { token, expires_at })
    }

    fn verify_access(&self, token: &str) -> Result<VerifiedToken, TokenRejected> {
        let reject = |why: &str| TokenRejected(why.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| reject("malformed"))?;
        if header.alg != self.algorithm {
            return Err(reject("unexpected algorithm"));
        }
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(reject("keys named by the token are not trusted"));
        }
        let key = header
            .kid
            .as_ref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or_else(|| reject("unknown key"))?;
        // header "." payload "." signature; decode_header has already refused anything else.
        let (message, signature) = token.rsplit_once('.').ok_or_else(|| reject("malformed"))?;
        let (_, payload) = message
            .rsplit_once('.')
            .ok_or_else(|| reject("malformed"))?;
        let valid_signature = match key {
            Verifier::Hmac(keyed) => {
                let signature = B64
                    .decode(signature)
                    .map_err(|_| reject("malformed signature"))?;
                let mut mac = keyed.clone();
                mac.update(message.as_bytes());
                // Constant-time comparison.
                mac.verify_slice(&signature).is_ok()
            }
            Verifier::Public(key) => {
                jsonwebtoken::crypto::verify(signature, message.as_bytes(), key, self.algorithm)
                    .map_err(|e| reject(&e.to_string()))?
            }
        };
        if !valid_signature {
            return Err(reject("InvalidSignature"));
        }
        // Every claim is a required field of AccessClaims: a token missing one does not parse.
        let claims: AccessClaims = B64
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| reject("malformed claims"))?;
        let now = chrono::Utc::now().timestamp();
        if claims.exp < now - self.leeway {
            return Err(reject("ExpiredSignature"));
        }
        if claims.nbf > now + self.leeway {
            return Err(reject("ImmatureSignature"));
        }
        if claims.iss != self.issuer {
            return Err(reject("InvalidIssuer"));
        }
        if claims.aud != self.audience {
            return Err(reject("InvalidAudience"));
        }
        if claims.typ != ACCESS {
            return Err(reject("not an access token"));
        }
        let user_id = UserId::parse_str(&claims.sub).ok_or_else(|| reject("bad subject"))?;
        let session_id = Uuid::parse_str(&claims.sid).map_err(|_| reject("bad session"))?;
        Ok(VerifiedToken {
            user_id,
            session_id,
        })
    }

    fn jwks(&self) -> serde_json::Value {
        serde_json::to_value(&self.jwks).unwrap_or_else(|_| serde_json::json!({ "keys": [] }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::domain::Role;

    fn service(overrides: &[(&str, &str)]) -> JwtService {
        let map: HashMap<&str, &str> = overrides.iter().copied().collect();
        let settings = Settings::from_lookup(|k| map.get(k).map(|v| v.to_string())).unwrap();
        JwtService::new(&settings.auth, settings.secret_key.expose()).unwrap()
    }

    fn principal() -> Principal {
        Principal {
            user_id: UserId::new(),
            email: "a@example.com".into(),
            role: Role::User,
            session_id: Uuid::new_v4(),
        }
    }

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn a_fresh_token_verifies_to_its_subject_and_session() {
        let svc = service(&[]);
        let p = principal();
        let issued = svc.issue_access(&p).unwrap();
        let verified = svc.verify_access(&issued.token).unwrap();
        assert_eq!(
            verified,
            VerifiedToken {
                user_id: p.user_id,
                session_id: p.session_id
            }
        );
    }

    #[test]
    fn forged_and_foreign_tokens_are_rejected() {
        let svc = service(&[]);
        let issued = svc.issue_access(&principal()).unwrap().token;
        let parts: Vec<&str> = issued.split('.').collect();
        // alg: none
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": "hs256"})),
            parts[1]
        );
        assert!(svc.verify_access(&none).is_err());
        // signed with another secret
        let other = service(&[(
            "SECRET_KEY",
            "another-secret-that-is-long-enough-0123456789",
        )]);
        assert!(
            svc.verify_access(&other.issue_access(&principal()).unwrap().token)
                .is_err()
        );
        // tampered payload
        let tampered = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
        assert!(svc.verify_access(&tampered).is_err());
        // wrong audience / issuer
        let other_aud = service(&[("JWT_AUDIENCE", "someone-else")]);
        assert!(
            svc.verify_access(&other_aud.issue_access(&principal()).unwrap().token)
                .is_err()
        );
        let other_iss = service(&[("JWT_ISSUER", "someone-else")]);
        assert!(
            svc.verify_access(&other_iss.issue_access(&principal()).unwrap().token)
                .is_err()
        );
        // a signature that is not base64url, a truncated one, and a token of four parts
        let garbage = format!("{}.{}.%%%", parts[0], parts[1]);
        assert!(svc.verify_access(&garbage).is_err());
        let truncated = format!("{}.{}.{}", parts[0], parts[1], &parts[2][..10]);
        assert!(svc.verify_access(&truncated).is_err());
        let four = format!("{issued}.{}", parts[2]);
        assert!(svc.verify_access(&four).is_err());
        // an embedded key in the header
        let embedded = format!(
            "{}.{}.{}",
            b64(
                &serde_json::json!({"alg": "HS256", "kid": "hs256", "jku": "https://evil.example/jwks"})
            ),
            parts[1],
            parts[2]
        );
        assert!(svc.verify_access(&embedded).is_err());
    }

    #[test]
    fn a_token_of_another_type_or_without_required_claims_is_rejected() {
        let svc = service(&[]);
        let secret = Settings::from_lookup(|_| None)
            .unwrap()
            .secret_key
            .expose()
            .to_owned();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("hs256".into());
        let now = chrono::Utc::now().timestamp();
        let mut claims = serde_json::json!({
            "sub": UserId::new().to_string(), "exp": now + 60, "iat": now, "nbf": now, "iss": "hexactor",
            "aud": "hexactor-api", "jti": "x", "typ": "refresh", "sid": Uuid::new_v4().to_string(), "role": "user",
        });
        let key = EncodingKey::from_secret(secret.as_bytes());
        assert!(
            svc.verify_access(&jsonwebtoken::encode(&header, &claims, &key).unwrap())
                .is_err(),
            "typ=refresh"
        );
        claims["typ"] = "access".into();
        assert!(
            svc.verify_access(&jsonwebtoken::encode(&header, &claims, &key).unwrap())
                .is_ok()
        );
        claims.as_object_mut().unwrap().remove("jti");
        assert!(
            svc.verify_access(&jsonwebtoken::encode(&header, &claims, &key).unwrap())
                .is_err(),
            "no jti"
        );
        claims["jti"] = "x".into();
        claims["exp"] = (now - 120).into();
        assert!(
            svc.verify_access(&jsonwebtoken::encode(&header, &claims, &key).unwrap())
                .is_err(),
            "expired"
        );
        claims["exp"] = (now + 600).into();
        claims["nbf"] = (now + 300).into();
        assert!(
            svc.verify_access(&jsonwebtoken::encode(&header, &claims, &key).unwrap())
                .is_err(),
            "not yet valid"
        );
    }
}
