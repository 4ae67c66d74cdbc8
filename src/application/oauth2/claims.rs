//! The claims of the tokens this provider signs: ID tokens (OIDC Core §2) and JWT access tokens
//! (RFC 9068), and the userinfo claims by scope (OIDC Core §5.4).

use crate::domain::User;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The header `typ` of an access token (RFC 9068 §2.1) and of an ID token.
pub const ACCESS_TYP: &str = "at+jwt";
pub const ID_TYP: &str = "JWT";

/// What every access token says.
pub struct AccessClaims<'a> {
    pub issuer: &'a str,
    /// The user's id, or the client's for client credentials.
    pub subject: String,
    pub client_id: Uuid,
    pub scope: &'a str,
    /// The grant (auth session) the token belongs to; `None` for client credentials.
    pub grant: Option<Uuid>,
    pub ttl: chrono::Duration,
}

impl AccessClaims<'_> {
    pub fn to_json(&self, now: DateTime<Utc>) -> Value {
        let mut claims = json!({
            "iss": self.issuer,
            "sub": self.subject,
            // RFC 9068 §3: the audience is the resource the token is for; without resource
            // indicators that is this provider's own userinfo and the client's APIs alike, so
            // the issuer is named and the client is in `client_id`.
            "aud": self.issuer,
            "client_id": self.client_id.to_string(),
            "scope": self.scope,
            "iat": now.timestamp(),
            "exp": (now + self.ttl).timestamp(),
            "jti": Uuid::new_v4().to_string(),
        });
        if let Some(grant) = self.grant {
            claims["sid"] = Value::String(grant.to_string());
        }
        claims
    }
}

/// What an ID token says beyond the access token's.
pub struct IdClaims<'a> {
    pub issuer: &'a str,
    pub subject: String,
    pub client_id: Uuid,
    pub nonce: Option<&'a str>,
    pub auth_time: DateTime<Utc>,
    pub amr: &'a [String],
    pub browser_session: Uuid,
    pub access_token: &'a str,
    pub ttl: chrono::Duration,
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

impl IdClaims<'_> {
    pub fn to_json(&self, now: DateTime<Utc>) -> Value {
        let mut claims = json!({
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.client_id.to_string(),
            "azp": self.client_id.to_string(),
            "iat": now.timestamp(),
            "exp": (now + self.ttl).timestamp(),
            "auth_time": self.auth_time.timestamp(),
            "amr": self.amr,
            "sid": self.browser_session.to_string(),
            "at_hash": at_hash(self.access_token),
        });
        if let Some(nonce) = self.nonce {
            claims["nonce"] = Value::String(nonce.to_owned());
        }
        claims
    }
}

/// `sub`, and by scope: `profile` → names and `updated_at`; `email` → the address and whether it
/// was proved.
pub fn user_claims(user: &User, scope: &str) -> Value {
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut claims = json!({ "sub": user.id.to_string() });
    if scopes.contains(&"profile") {
        claims["preferred_username"] = json!(user.username.as_str());
        claims["given_name"] = json!(user.first_name.as_str());
        claims["family_name"] = json!(user.last_name.as_str());
        claims["name"] = json!(user.full_name());
        claims["updated_at"] = json!(user.updated_at.timestamp());
    }
    if scopes.contains(&"email") {
        claims["email"] = json!(user.email.as_str());
        claims["email_verified"] = json!(user.email_verified);
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256() {
        // OIDC Core §A.3's example access token and at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
