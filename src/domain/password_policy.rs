//! Password strength without composition rules (NIST SP 800-63B): reject what is guessable —
//! common passwords, keyboard walks, and the user's own username or email inside it.

use super::{FieldError, Password};

/// zxcvbn score (0–4) below which a password counts as too easy to guess; 2 means "somewhat
/// guessable" (about 10^8 guesses), which rules out the common-password lists.
const MIN_SCORE: u8 = 2;

/// zxcvbn sees at most this many characters of the password. Its cost grows faster than linearly
/// with the length (it matches every substring against its dictionaries), so without a bound the
/// longest allowed password (1,024 bytes) costs the most CPU per request, on purpose or not.
///
/// Why judging a prefix is sound: whoever can guess the whole password in N tries can guess its
/// first 40 characters in at most N tries (cut each guess to 40 characters), so a password is at
/// least as hard to guess as its prefix: a strong prefix means a strong password, and nothing weak
/// is accepted because of the bound. The only change is on the other side: a password whose first
/// 40 characters alone are guessable (40 characters of repetition or a keyboard walk) is refused
/// even if what follows would have rescued it: a rare, conservative outcome, with the same 422.
/// And 40 characters is far more than a score of 2 needs: a passphrase of four common words is
/// already about 25.
const MAX_CHECKED_CHARS: usize = 40;

/// The first `MAX_CHECKED_CHARS` characters, cut at a character boundary (never inside one).
fn checked_prefix(secret: &str) -> &str {
    secret
        .char_indices()
        .nth(MAX_CHECKED_CHARS)
        .map_or(secret, |(end, _)| &secret[..end])
}

pub fn check_strength(password: &Password, username: &str, email: &str) -> Result<(), FieldError> {
    let secret = password.expose_secret();
    let lowered = secret.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default();
    for personal in [username, local_part, email] {
        let personal = personal.trim().to_lowercase();
        if personal.chars().count() >= 3 && lowered.contains(&personal) {
            return Err(FieldError::new(
                "password",
                "contains_personal_info",
                "the password must not contain your username or email",
            ));
        }
    }
    // The personal-information check above reads the whole password (it is cheap); zxcvbn only
    // its prefix, see MAX_CHECKED_CHARS.
    let entropy = zxcvbn::zxcvbn(checked_prefix(secret), &[username, email]);
    if u8::from(entropy.score()) < MIN_SCORE {
        let hint = entropy
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()))
            .unwrap_or_else(|| "it is too easy to guess".to_owned());
        return Err(FieldError::new(
            "password",
            "too_common",
            format!("choose a less guessable password: {hint}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pw: &str) -> Result<(), &'static str> {
        check_strength(
            &Password::parse(pw.to_owned()).unwrap(),
            "alice_w",
            "alice@example.com",
        )
        .map_err(|e| e.code)
    }

    #[test]
    fn common_passwords_are_rejected() {
        for pw in [
            "password",
            "password123",
            "12345678",
            "qwertyuiop",
            "iloveyou",
        ] {
            assert_eq!(check(pw), Err("too_common"), "{pw}");
        }
    }

    #[test]
    fn the_users_own_name_or_email_is_rejected() {
        assert_eq!(
            check("xx-ALICE_W-2024-zebra"),
            Err("contains_personal_info")
        );
        assert_eq!(
            check("my alice@example.com pw"),
            Err("contains_personal_info")
        );
    }

    #[test]
    fn the_strength_check_reads_a_bounded_prefix_cut_at_a_character_boundary() {
        assert_eq!(checked_prefix("short"), "short");
        let forty = "a".repeat(40);
        assert_eq!(checked_prefix(&format!("{forty}bcd")), forty);
        // 🔒 is 4 bytes: 40 characters are 160 bytes, and the cut falls between two of them.
        let locks = "🔒".repeat(41);
        assert_eq!(checked_prefix(&locks), "🔒".repeat(40));
        // Personal information past the prefix is still refused.
        assert_eq!(
            check(&format!(
                "{}alice_w",
                "Zq8#vT2!mK9$pL4@xR7&nB3^cW6*hJ1%gF5(dS0)"
            )),
            Err("contains_personal_info")
        );
        // A weak prefix is refused, whatever follows it.
        assert_eq!(
            check(&format!("{forty}Zq8#vT2!mK9$pL4@")),
            Err("too_common")
        );
    }

    #[test]
    fn long_unusual_passwords_pass_without_composition_rules() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("Tr0ub4dor&3-unique-plaintext"), Ok(()));
        assert_eq!(check("mäuse tanzen über Brücken"), Ok(()));
    }
}
