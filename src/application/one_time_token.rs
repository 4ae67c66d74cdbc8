//! One-time tokens (password reset, email verification) that never travel.
//!
//! The token for a request is `HMAC-SHA256(key, purpose ‖ request id)`, base64url: 256 bits that
//! nobody without the server key can compute, even knowing the id. Only three places ever see it:
//! the worker stores its SHA-256 (never the token), the mail sender recomputes it from the
//! request id named in the event and puts it in the message, and the API hashes what the user
//! presents to find the row. So the token itself never reaches RabbitMQ, the outbox, an event
//! or a log line, and a redelivered event re-sends the same token rather than a new one.
//!
//! The key is derived from `SECRET_KEY` with a label, so it is never the JWT key itself.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    PasswordReset,
    EmailVerification,
    /// Proves the new address of an email change (mailed there).
    EmailChange,
    /// Undoes an email change (mailed to the old address).
    EmailChangeRevert,
}

impl TokenPurpose {
    /// As stored in `one_time_tokens.purpose`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::EmailVerification => "email_verification",
            TokenPurpose::EmailChange => "email_change",
            TokenPurpose::EmailChangeRevert => "email_change_revert",
        }
    }
}

/// The server key tokens are derived with. `Debug` does not print it.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length")
}

impl TokenKey {
    pub fn derive(secret_key: &str) -> Self {
        let mut m = mac(secret_key.as_bytes());
        m.update(b"hexactor one-time tokens v1");
        Self(m.finalize().into_bytes().into())
    }

    /// The token for this request: what the email carries and the user sends back.
    pub fn token(&self, purpose: TokenPurpose, request_id: Uuid) -> String {
        let mut m = mac(&self.0);
        m.update(purpose.as_str().as_bytes());
        m.update(b"\0");
        m.update(request_id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    }

    /// What the database keeps for this request (the hash of its token).
    pub fn stored_hash(&self, purpose: TokenPurpose, request_id: Uuid) -> Vec<u8> {
        hash_token(&self.token(purpose, request_id))
    }
}

/// How long the owner of the old address can undo an email change: long enough to notice a
/// hijack from a mailbox read weekly.
pub const EMAIL_CHANGE_REVERT_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 86400);

/// What the worker needs to issue tokens.
#[derive(Clone, Debug)]
pub struct TokenPolicy {
    pub key: TokenKey,
    pub password_reset_ttl: std::time::Duration,
    pub email_verification_ttl: std::time::Duration,
    pub email_change_ttl: std::time::Duration,
    /// At most one mail per account and purpose within this interval (0: no limit).
    pub min_interval: std::time::Duration,
}

impl TokenPolicy {
    pub fn ttl(&self, purpose: TokenPurpose) -> std::time::Duration {
        match purpose {
            TokenPurpose::PasswordReset => self.password_reset_ttl,
            TokenPurpose::EmailVerification => self.email_verification_ttl,
            TokenPurpose::EmailChange => self.email_change_ttl,
            TokenPurpose::EmailChangeRevert => EMAIL_CHANGE_REVERT_TTL,
        }
    }
}

/// SHA-256 of a presented token: the lookup key. A malformed token simply matches nothing.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_depend_on_key_purpose_and_id() {
        let key = TokenKey::derive("k1");
        let id = Uuid::now_v7();
        let t = key.token(TokenPurpose::PasswordReset, id);
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&t)
            .unwrap();
        assert_eq!(raw.len(), 32);
        assert_eq!(
            t,
            key.token(TokenPurpose::PasswordReset, id),
            "deterministic"
        );
        assert_ne!(t, key.token(TokenPurpose::EmailVerification, id));
        assert_ne!(t, key.token(TokenPurpose::PasswordReset, Uuid::now_v7()));
        assert_ne!(
            t,
            TokenKey::derive("k2").token(TokenPurpose::PasswordReset, id)
        );
        assert_eq!(
            key.stored_hash(TokenPurpose::PasswordReset, id),
            hash_token(&t)
        );
        assert!(!format!("{key:?}").contains('1'));
    }
}
