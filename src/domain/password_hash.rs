//! Stored password hashes and the hashing policy: which algorithm and work factor new hashes get
//! (`PASSWORD_HASH`, `BCRYPT_COST`, `ARGON2_*`), what a stored hash was made with (read from its
//! own modular-crypt / PHC string), and so whether a login should re-hash it. Pure: the hashing
//! itself is an adapter's (`infrastructure::password_hashing`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A password hash in its self-describing string form: bcrypt's `$2b$12$…` or Argon2id's PHC
/// string `$argon2id$v=19$m=19456,t=2,p=1$…`.
///
/// Not secret in the way a plaintext is, but still brute-forceable offline, so `Debug` is
/// redacted to keep it out of logs. It does (de)serialise as a plain string because the command
/// message carries it to the worker.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Trusted input only: the output of the hasher or a value read back
    /// from our own database. Not a validating parser.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The algorithm and work factor the hash was made with, read from the string itself; `None`
    /// for a string that is neither format.
    pub fn scheme(&self) -> Option<PasswordHashing> {
        let mut parts = self.0.split('$');
        if !parts.next()?.is_empty() {
            return None;
        }
        match parts.next()? {
            "2a" | "2b" | "2y" => Some(PasswordHashing::Bcrypt {
                cost: parts.next()?.parse().ok()?,
            }),
            "argon2id" => {
                let _version = parts.next()?.strip_prefix("v=")?;
                let (mut m, mut t, mut p) = (None, None, None);
                for pair in parts.next()?.split(',') {
                    let (key, value) = pair.split_once('=')?;
                    let value = value.parse().ok()?;
                    match key {
                        "m" => m = Some(value),
                        "t" => t = Some(value),
                        "p" => p = Some(value),
                        _ => {}
                    }
                }
                Some(PasswordHashing::Argon2id(Argon2Params {
                    memory_kib: m?,
                    iterations: t?,
                    parallelism: p?,
                }))
            }
            _ => None,
        }
    }
}

impl AsRef<str> for PasswordHash {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// Argon2id's cost parameters (RFC 9106 names: m, t, p).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP's minimum configuration for Argon2id: m = 19 MiB, t = 2, p = 1.
    pub const OWASP: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

/// How new hashes are made (and, read from a stored hash, how it was made).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordHashing {
    Bcrypt { cost: u32 },
    Argon2id(Argon2Params),
}

/// bcrypt's key is 72 bytes *including* the NUL terminator it appends, so 71 bytes of password
/// are all it reads whole (the `bcrypt` crate's non-truncating hash refuses 72); longer input is
/// refused, never truncated.
pub const BCRYPT_MAX_BYTES: usize = 71;

impl PasswordHashing {
    /// Should a login that just verified `stored` hash the password again under this policy?
    /// Yes when it was made by the other algorithm (the configured one wins: that is how bcrypt
    /// hashes become Argon2id ones), or with less work than configured (bcrypt's cost, Argon2's
    /// memory or iterations); never to *lower* the work, so that replicas briefly configured
    /// differently during a rollout do not re-hash each other's hashes back and forth.
    pub fn needs_rehash(&self, stored: &PasswordHash) -> bool {
        match (self, stored.scheme()) {
            (Self::Bcrypt { cost }, Some(Self::Bcrypt { cost: old })) => old < *cost,
            (Self::Argon2id(new), Some(Self::Argon2id(old))) => {
                old.memory_kib < new.memory_kib || old.iterations < new.iterations
            }
            // An unknown format never verifies, so there is nothing to re-hash.
            (_, None) => false,
            _ => true,
        }
    }

    /// The longest password (normalised, in bytes) this algorithm hashes whole.
    pub fn max_password_bytes(&self) -> usize {
        match self {
            Self::Bcrypt { .. } => BCRYPT_MAX_BYTES,
            Self::Argon2id(_) => super::password::MAX_BYTES,
        }
    }

    /// Memory one hash (or verification) holds while it runs, in KiB: what the hashing pool's
    /// size is weighed against. bcrypt's state is 4 KiB.
    pub fn memory_kib(&self) -> u32 {
        match self {
            Self::Bcrypt { .. } => 4,
            Self::Argon2id(params) => params.memory_kib,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Bcrypt { .. } => "bcrypt",
            Self::Argon2id(_) => "argon2id",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
    const ARGON2ID: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

    fn hash(s: &str) -> PasswordHash {
        PasswordHash::new(s.to_owned())
    }

    #[test]
    fn the_scheme_is_read_from_the_hash_itself() {
        assert_eq!(
            hash(BCRYPT).scheme(),
            Some(PasswordHashing::Bcrypt { cost: 12 })
        );
        assert_eq!(
            hash(ARGON2ID).scheme(),
            Some(PasswordHashing::Argon2id(Argon2Params::OWASP))
        );
        for not_one in [
            "",
            "plain",
            "$argon2i$v=19$m=8,t=1,p=1$x$y",
            "$2b$xx$",
            "$argon2id$v=19$m=8",
        ] {
            assert_eq!(hash(not_one).scheme(), None, "{not_one}");
        }
    }

    #[test]
    fn a_rehash_moves_to_the_configured_algorithm_and_never_lowers_the_work() {
        let argon = PasswordHashing::Argon2id(Argon2Params::OWASP);
        let bcrypt = |cost| PasswordHashing::Bcrypt { cost };
        assert!(argon.needs_rehash(&hash(BCRYPT)));
        assert!(!argon.needs_rehash(&hash(ARGON2ID)));
        assert!(bcrypt(12).needs_rehash(&hash(ARGON2ID)));
        assert!(!bcrypt(12).needs_rehash(&hash(BCRYPT)));
        assert!(bcrypt(13).needs_rehash(&hash(BCRYPT)));
        assert!(!bcrypt(10).needs_rehash(&hash(BCRYPT)));
        let more_memory = PasswordHashing::Argon2id(Argon2Params {
            memory_kib: 65_536,
            ..Argon2Params::OWASP
        });
        assert!(more_memory.needs_rehash(&hash(ARGON2ID)));
        let cheaper = PasswordHashing::Argon2id(Argon2Params {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        });
        assert!(!cheaper.needs_rehash(&hash(ARGON2ID)));
        assert!(!argon.needs_rehash(&hash("not a hash")));
    }

    #[test]
    fn hash_debug_does_not_leak() {
        let debug = format!("{:?}", hash(BCRYPT));
        assert_eq!(debug, "PasswordHash(***)");
        assert!(!debug.contains("R9h"));
    }

    #[test]
    fn hash_serde_is_transparent() {
        let hash = hash(BCRYPT);
        assert_eq!(hash.as_str(), BCRYPT);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{BCRYPT}\""));
        let back: PasswordHash = serde_json::from_str(&json).unwrap();
        assert_eq!(back, hash);
        assert_eq!(back.into_inner(), BCRYPT);
    }
}
