use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{Ordering, compiler_fence};

use serde::{Deserialize, Serialize};

use super::errors::FieldError;

const FIELD: &str = "password";
const MIN_BYTES: usize = 8;
// bcrypt only reads the first 72 bytes. Silently truncating would let
// "<72 bytes>anything" log in as "<72 bytes>", so longer input is rejected.
const MAX_BYTES: usize = 72;

/// A plaintext password that satisfies the length policy.
///
/// Built to not leak: no `Display`, no `Serialize`, no `Clone`, a redacted
/// `Debug`, and the buffer is wiped on drop. Read it only through
/// `expose_secret`, which makes every use easy to find in review.
pub struct Password(String);

impl Password {
    /// Not trimmed: whitespace is part of the secret the user chose.
    /// Takes ownership so the caller's copy is the one that gets wiped.
    pub fn parse(input: String) -> Result<Self, FieldError> {
        // Wrapped before checking so a rejected plaintext is wiped as well.
        let password = Self(input);
        let len = password.0.len();
        if len == 0 {
            return Err(FieldError::new(FIELD, "required", "password is required"));
        }
        if len < MIN_BYTES {
            return Err(FieldError::new(
                FIELD,
                "too_short",
                format!("password must be at least {MIN_BYTES} characters"),
            ));
        }
        if len > MAX_BYTES {
            return Err(FieldError::new(
                FIELD,
                "too_long",
                format!(
                    "password must be at most {MAX_BYTES} bytes (non-ASCII characters take 2-4 bytes each)"
                ),
            ));
        }
        Ok(password)
    }

    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Best-effort scrubbing of the plaintext from freed heap memory.
///
/// Done by hand because a crate like `zeroize` would be the domain's only
/// extra dependency. It cannot reach copies made before `parse` (request
/// buffers, the JSON parser); it only shortens how long this one lives.
/// Volatile writes plus a fence stop the compiler from eliding the stores as
/// dead right before deallocation.
fn wipe(secret: &mut String) {
    // SAFETY: only NUL bytes are written, which is valid UTF-8, so the String
    // remains well-formed.
    let bytes = unsafe { secret.as_mut_vec() };
    for byte in bytes.iter_mut() {
        // SAFETY: `byte` is a valid, exclusive reference.
        unsafe { ptr::write_volatile(byte, 0) };
    }
    // Spare capacity may still hold bytes from earlier edits of the buffer.
    for byte in bytes.spare_capacity_mut() {
        // SAFETY: `byte` is a valid, exclusive reference into the allocation.
        unsafe { ptr::write_volatile(byte, MaybeUninit::new(0)) };
    }
    compiler_fence(Ordering::SeqCst);
}

/// A bcrypt hash of a `Password`.
///
/// Not secret in the way a plaintext is, but still brute-forceable offline,
/// so `Debug` is redacted to keep it out of logs. It does (de)serialise as a
/// plain string because the command message carries it to the worker.
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

    /// The work factor the hash was made with (`$2b$12$...` → 12), read from the modular crypt
    /// format itself; `None` for a string that is not one. Pure, so the domain owns it: the login
    /// use case compares it with the configured cost to decide whether to re-hash.
    pub fn cost(&self) -> Option<u32> {
        self.0.split('$').nth(2)?.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

    fn code_of(input: &str) -> &'static str {
        let error = Password::parse(input.to_owned()).expect_err(input);
        assert_eq!(error.field, "password");
        error.code
    }

    #[test]
    fn byte_length_boundaries() {
        assert_eq!(code_of("1234567"), "too_short");
        assert_eq!(
            Password::parse("12345678".to_owned())
                .unwrap()
                .expose_secret(),
            "12345678"
        );
        let max = "p".repeat(72);
        assert_eq!(Password::parse(max.clone()).unwrap().expose_secret(), max);
        assert_eq!(code_of(&"p".repeat(73)), "too_long");
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(code_of(""), "required");
    }

    #[test]
    fn length_is_bytes_not_characters() {
        let eighteen = "🔒".repeat(18);
        assert_eq!(eighteen.len(), 72);
        assert_eq!(
            Password::parse(eighteen.clone()).unwrap().expose_secret(),
            eighteen
        );
        let nineteen = "🔒".repeat(19);
        assert_eq!(nineteen.len(), 76);
        assert_eq!(code_of(&nineteen), "too_long");
    }

    #[test]
    fn whitespace_is_kept() {
        let password = Password::parse("  secret pass  ".to_owned()).unwrap();
        assert_eq!(password.expose_secret(), "  secret pass  ");
    }

    #[test]
    fn debug_does_not_leak() {
        let password = Password::parse("hunter2hunter2".to_owned()).unwrap();
        let debug = format!("{password:?}");
        assert_eq!(debug, "Password(***)");
        assert!(!debug.contains("hunter2"));
    }

    #[test]
    fn error_does_not_leak() {
        let error = Password::parse("abc123".to_owned()).unwrap_err();
        assert!(!error.message.contains("abc123"));
        assert!(!format!("{error:?}").contains("abc123"));
    }

    #[test]
    fn wipe_zeroes_the_buffer() {
        let mut secret = String::with_capacity(64);
        secret.push_str("correct horse battery staple");
        let len = secret.len();
        wipe(&mut secret);
        assert_eq!(secret.len(), len);
        assert!(secret.bytes().all(|b| b == 0));
    }

    #[test]
    fn hash_debug_does_not_leak() {
        let hash = PasswordHash::new(HASH.to_owned());
        let debug = format!("{hash:?}");
        assert_eq!(debug, "PasswordHash(***)");
        assert!(!debug.contains("R9h"));
    }

    #[test]
    fn hash_serde_is_transparent() {
        let hash = PasswordHash::new(HASH.to_owned());
        assert_eq!(hash.as_str(), HASH);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{HASH}\""));
        let back: PasswordHash = serde_json::from_str(&json).unwrap();
        assert_eq!(back, hash);
        assert_eq!(back.into_inner(), HASH);
    }
}
