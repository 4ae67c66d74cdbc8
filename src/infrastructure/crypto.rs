//! Encryption at rest for secrets the service must read back (TOTP secrets): ChaCha20-Poly1305
//! with the `DATA_ENCRYPTION_KEY`, a fresh random 96-bit nonce per value, and the owner's id as
//! associated data (a ciphertext copied onto another account does not decrypt).
//!
//! Stored form: `nonce (12 bytes) || ciphertext+tag`.

use crate::application::mfa::random_bytes;
use crate::application::mfa_ports::SecretCipher;
use crate::config::decode_key;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const NONCE_BYTES: usize = 12;

pub struct DataCipher {
    cipher: ChaCha20Poly1305,
}

impl DataCipher {
    /// `None` unless `encoded_key` is base64 of 32 bytes (the configuration checks this first).
    pub fn new(encoded_key: &str) -> Option<Self> {
        let key = decode_key(encoded_key)?;
        Some(Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        })
    }
}

impl SecretCipher for DataCipher {
    fn seal(&self, plaintext: &[u8], owner: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<NONCE_BYTES>();
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: owner,
                },
            )
            .expect("ChaCha20-Poly1305 encryption does not fail for small inputs");
        [nonce.as_slice(), &sealed].concat()
    }

    fn open(&self, sealed: &[u8], owner: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner,
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn round_trips_only_with_the_same_key_and_owner() {
        let cipher = DataCipher::new(crate::config::DEV_DATA_ENCRYPTION_KEY).unwrap();
        let sealed = cipher.seal(b"totp secret", b"owner-1");
        assert!(!sealed.windows(11).any(|w| w == b"totp secret"));
        assert_eq!(cipher.open(&sealed, b"owner-1").unwrap(), b"totp secret");
        assert_eq!(cipher.open(&sealed, b"owner-2"), None);
        assert_ne!(
            cipher.seal(b"totp secret", b"owner-1"),
            sealed,
            "fresh nonce"
        );
        let other =
            DataCipher::new(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).unwrap();
        assert_eq!(other.open(&sealed, b"owner-1"), None);
        assert!(DataCipher::new("c2hvcnQ=").is_none());
    }
}
