//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30-second
//! steps, a code from one step before or after also accepted (clock drift), and never a step at
//! or before the last one accepted (no replay within the window).
//!
//! Pure computation: the caller supplies the time and the last accepted step.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::fmt;

pub const DIGITS: u32 = 6;
pub const STEP_SECONDS: i64 = 30;
/// Steps accepted either side of the current one.
pub const DRIFT_STEPS: i64 = 1;
pub const SECRET_BYTES: usize = 20;

/// A TOTP shared secret. Never printed: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// RFC 4648 base32 without padding, as authenticator apps expect.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }
    /// The `otpauth://` URI authenticator apps read from a QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", percent(issuer), percent(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.to_base32(),
            percent(issuer)
        )
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// RFC 4226 HOTP with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The time step a Unix time falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// A well-formed code: exactly six ASCII digits.
pub fn parse_code(code: &str) -> Option<u32> {
    let code = code.trim();
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse().ok())
        .flatten()
}

/// The step `code` matches at `unix_seconds` (±[`DRIFT_STEPS`]), if it is later than
/// `last_used_step`. The caller must record the returned step atomically ("only if greater than
/// the stored one") so that two concurrent uses of one code cannot both pass.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_seconds: i64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let code = parse_code(code)?;
    let now = step_at(unix_seconds);
    (now - DRIFT_STEPS..=now + DRIFT_STEPS)
        .filter(|step| *step >= 0 && last_used_step.is_none_or(|last| *step > last))
        .find(|step| constant_time_eq(hotp(secret.as_bytes(), *step as u64, DIGITS), code))
}

fn constant_time_eq(a: u32, b: u32) -> bool {
    (a ^ b) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, 8 digits; and its last 6 digits for our 6-digit codes.
        assert_eq!(hotp(RFC_SECRET, step_at(59) as u64, 8), 94287082);
        assert_eq!(hotp(RFC_SECRET, step_at(59) as u64, 6), 287082);
        assert_eq!(hotp(RFC_SECRET, step_at(1111111109) as u64, 8), 7081804);
        assert_eq!(hotp(RFC_SECRET, step_at(1234567890) as u64, 8), 89005924);
        assert_eq!(hotp(RFC_SECRET, step_at(20000000000) as u64, 8), 65353130);
    }

    #[test]
    fn rfc_4226_hotp_vectors() {
        let expected = [755224, 287082, 359152, 969429, 338314];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), code);
        }
    }

    #[test]
    fn accepts_one_step_of_drift_and_nothing_more() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec());
        assert_eq!(verify(&secret, "287082", 59, None), Some(1));
        assert_eq!(verify(&secret, "287082", 89, None), Some(1)); // one step late
        assert_eq!(verify(&secret, "287082", 0, None), Some(1)); // one step early
        assert_eq!(verify(&secret, "287082", 95, None), None); // two steps late
        assert_eq!(verify(&secret, "287083", 59, None), None);
        assert_eq!(verify(&secret, "28708", 59, None), None);
        assert_eq!(verify(&secret, "2870821", 59, None), None);
    }

    #[test]
    fn a_used_step_is_never_accepted_again() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec());
        assert_eq!(verify(&secret, "287082", 59, Some(1)), None);
        assert_eq!(verify(&secret, "287082", 59, Some(0)), Some(1));
    }

    #[test]
    fn uri_and_debug() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec());
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = secret.otpauth_uri("hexactor", "ada@example.com");
        assert!(
            uri.starts_with("otpauth://totp/hexactor:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=hexactor"),
            "{uri}"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(***)");
    }
}
