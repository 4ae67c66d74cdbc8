use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{Ordering, compiler_fence};

use unicode_normalization::UnicodeNormalization;

use super::errors::FieldError;

const FIELD: &str = "password";
/// NIST SP 800-63B: at least 8 *characters* (Unicode code points), not bytes.
pub const MIN_CHARS: usize = 8;
/// Argon2id takes any length, but an unbounded one lets a single request buy unbounded
/// normalisation and hashing work. 1,024 bytes is far beyond any passphrase a person types.
pub const MAX_BYTES: usize = 1024;

/// A plaintext password, NFKC-normalised (NIST SP 800-63B), so that the same characters typed
/// as composed or decomposed Unicode (a Mac and a Windows keyboard, say) are the same password.
///
/// Two ways in: [`Password::parse`] for a *new* password (the length policy applies) and
/// [`Password::presented`] for one offered to prove who someone is (only bounded, because a
/// password set under an older policy must still verify). Both keep the input as typed when
/// normalisation changed it ([`Password::as_typed`]): hashes stored before normalisation was
/// introduced were made from those bytes, and verification falls back to them once.
///
/// Built to not leak: no `Display`, no `Serialize`, no `Clone`, a redacted `Debug`, and both
/// buffers are wiped on drop. Read it only through `expose_secret`, which makes every use easy to
/// find in review.
pub struct Password {
    normalised: String,
    /// The input as typed, only when it differs from `normalised`.
    typed: Option<String>,
}

impl Password {
    /// A new password: at least [`MIN_CHARS`] code points both as typed and once normalised (so
    /// the documented minimum holds for what is sent and for what is hashed), and at most
    /// [`MAX_BYTES`] bytes of UTF-8, again both ways.
    ///
    /// Not trimmed: whitespace is part of the secret the user chose. Takes ownership so the
    /// caller's copy is the one that gets wiped.
    pub fn parse(input: String) -> Result<Self, FieldError> {
        let password = Self::presented(input)?;
        let typed_chars = password.typed.as_deref().map(|t| t.chars().count());
        let chars = password.normalised.chars().count();
        if chars.min(typed_chars.unwrap_or(chars)) < MIN_CHARS {
            return Err(FieldError::new(
                FIELD,
                "too_short",
                format!("password must be at least {MIN_CHARS} characters"),
            ));
        }
        if password.normalised.len() > MAX_BYTES {
            return Err(too_long());
        }
        Ok(password)
    }

    /// A password offered for verification (login, the current password): any non-empty input up
    /// to [`MAX_BYTES`] bytes, normalised. The bound is checked before normalising, so an
    /// oversized body costs no normalisation work.
    pub fn presented(input: String) -> Result<Self, FieldError> {
        // Wrapped before checking so a rejected plaintext is wiped as well.
        let mut password = Self {
            normalised: input,
            typed: None,
        };
        if password.normalised.is_empty() {
            return Err(FieldError::new(FIELD, "required", "password is required"));
        }
        if password.normalised.len() > MAX_BYTES {
            return Err(too_long());
        }
        // Most passwords (all ASCII ones) are already normalised: no second buffer then.
        if !unicode_normalization::is_nfkc(&password.normalised) {
            let mut normalised = String::with_capacity(password.normalised.len() * 3);
            normalised.extend(password.normalised.nfkc());
            password.typed = Some(std::mem::replace(&mut password.normalised, normalised));
        }
        Ok(password)
    }

    /// The normalised form: what is checked for strength, screened and hashed.
    pub fn expose_secret(&self) -> &str {
        &self.normalised
    }

    /// The input exactly as typed, when normalisation changed it (`None` otherwise).
    pub fn as_typed(&self) -> Option<&str> {
        self.typed.as_deref()
    }
}

fn too_long() -> FieldError {
    FieldError::new(
        FIELD,
        "too_long",
        format!(
            "password must be at most {MAX_BYTES} bytes (non-ASCII characters take 2-4 bytes each)"
        ),
    )
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        wipe(&mut self.normalised);
        if let Some(typed) = &mut self.typed {
            wipe(typed);
        }
    }
}

/// Best-effort scrubbing of the plaintext from freed heap memory.
///
/// Done by hand rather than with `zeroize`, to keep the domain's dependencies
/// few. It cannot reach copies made before `parse` (request
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

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(input: &str) -> &'static str {
        let error = Password::parse(input.to_owned()).expect_err(input);
        assert_eq!(error.field, "password");
        error.code
    }

    #[test]
    fn length_boundaries() {
        assert_eq!(code_of("1234567"), "too_short");
        assert_eq!(
            Password::parse("12345678".to_owned())
                .unwrap()
                .expose_secret(),
            "12345678"
        );
        // bcrypt's 72 bytes are no limit any more; 1,024 bytes are.
        let max = "p".repeat(MAX_BYTES);
        assert_eq!(Password::parse(max.clone()).unwrap().expose_secret(), max);
        assert_eq!(code_of(&"p".repeat(MAX_BYTES + 1)), "too_long");
        let presented = Password::presented("p".repeat(MAX_BYTES + 1)).unwrap_err();
        assert_eq!(presented.code, "too_long");
    }

    #[test]
    fn the_minimum_counts_characters_not_bytes() {
        // 7 characters, 12 bytes: refused (it used to pass as 12 bytes).
        let seven = "Ω9λ#π÷Ê";
        assert_eq!((seven.chars().count(), seven.len()), (7, 12));
        assert_eq!(code_of(seven), "too_short");
        assert!(Password::parse(format!("{seven}x")).is_ok());
        // 256 four-byte characters are 1,024 bytes: the most there can be.
        assert!(Password::parse("🔒".repeat(256)).is_ok());
        assert_eq!(code_of(&"🔒".repeat(257)), "too_long");
    }

    #[test]
    fn passwords_are_nfkc_normalised_and_the_typed_form_is_kept_when_it_differs() {
        let composed = "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
        let decomposed = "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e";
        let a = Password::parse(composed.to_owned()).unwrap();
        let b = Password::parse(decomposed.to_owned()).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.as_typed(), None, "already normalised: no second copy");
        assert_eq!(b.as_typed(), Some(decomposed));
        // Compatibility forms too: a ligature and a full-width digit.
        let ligature = Password::parse("\u{fb01}ne 2\u{ff19} words".to_owned()).unwrap();
        assert_eq!(ligature.expose_secret(), "fine 29 words");
    }

    #[test]
    fn the_minimum_holds_as_typed_and_once_normalised() {
        // 8 code points typed, 7 once the combining accent joins its letter.
        let shrinks = "abcdefe\u{301}";
        assert_eq!(shrinks.chars().count(), 8);
        assert_eq!(code_of(shrinks), "too_short");
        // 7 typed, 8 once the ligature expands: still too short, as the schema says.
        let grows = "abcde\u{fb01}x";
        assert_eq!(grows.chars().count(), 7);
        assert_eq!(code_of(grows), "too_short");
        // A presented password is only bounded: an old short one still gets verified.
        assert!(Password::presented("short".to_owned()).is_ok());
        assert_eq!(code_of_presented(""), "required");
    }

    fn code_of_presented(input: &str) -> &'static str {
        Password::presented(input.to_owned()).unwrap_err().code
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
}
