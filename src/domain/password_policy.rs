//! Password strength without composition rules (NIST SP 800-63B): reject what is guessable —
//! common passwords, keyboard walks, and the user's own username or email inside it.

use super::{FieldError, Password};

/// zxcvbn score (0–4) below which a password counts as too easy to guess; 2 means "somewhat
/// guessable" (about 10^8 guesses), which rules out the common-password lists.
const MIN_SCORE: u8 = 2;

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
    let entropy = zxcvbn::zxcvbn(secret, &[username, email]);
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
    fn long_unusual_passwords_pass_without_composition_rules() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("Tr0ub4dor&3-unique-plaintext"), Ok(()));
        assert_eq!(check("mäuse tanzen über Brücken"), Ok(()));
    }
}
