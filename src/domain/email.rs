use std::fmt;

use serde::{Deserialize, Serialize};

use super::errors::FieldError;

const FIELD: &str = "email";
// RFC 5321 caps a forward path at 256 octets including the angle brackets.
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;
const MIN_TLD_LEN: usize = 2;
// Legal in RFC 5322 only inside quoted local parts, which we deliberately do
// not support: they are almost never real mailboxes and complicate everything
// downstream (SMTP, logs, uniqueness).
const FORBIDDEN_LOCAL: &[u8] = b"\"(),:;<>[\\]";

/// A syntactically plausible, normalised (trimmed, lower-case) email address.
///
/// Deliberately stricter than RFC 5322: the goal is to reject typos and
/// garbage, not to accept every address a mail server might.
/// Lower-casing the local part is technically lossy, but in practice no
/// provider distinguishes case and uniqueness must not depend on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(FIELD, "required", "email is required"));
        }
        // Checked before allocating so huge inputs are cheap to reject.
        if trimmed.len() > MAX_LEN {
            return Err(FieldError::new(
                FIELD,
                "too_long",
                format!("email must be at most {MAX_LEN} characters"),
            ));
        }
        // ASCII-only lowering on purpose: Unicode lowering maps e.g. U+212A
        // KELVIN SIGN to 'k', silently turning odd input into another address.
        let email = trimmed.to_ascii_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid("email must contain '@'"));
        };
        if domain.contains('@') {
            return Err(invalid("email must contain exactly one '@'"));
        }
        check_local(local).map_err(invalid)?;
        check_domain(domain).map_err(invalid)?;
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

fn invalid(message: &str) -> FieldError {
    FieldError::new(FIELD, "invalid_email", message)
}

fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("email is missing the part before '@'");
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err("the part before '@' must be at most 64 characters");
    }
    let allowed = |b: &u8| b.is_ascii_graphic() && !FORBIDDEN_LOCAL.contains(b);
    if !local.as_bytes().iter().all(allowed) {
        return Err("the part before '@' contains characters that are not allowed");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(
            "the part before '@' must not start or end with a dot or contain two dots in a row",
        );
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), &'static str> {
    if !domain.contains('.') {
        return Err("email domain must contain a dot");
    }
    for label in domain.split('.') {
        check_label(label)?;
    }
    // `split` always yields at least one item, and the loop proved it non-empty.
    let tld = domain.rsplit('.').next().unwrap_or_default();
    if tld.len() < MIN_TLD_LEN || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err("email domain must end in a top-level domain of at least two letters");
    }
    Ok(())
}

fn check_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() || label.len() > MAX_LABEL_LEN {
        return Err("each part of the email domain must be 1 to 63 characters");
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if !label.bytes().all(allowed) {
        return Err("email domain may only contain letters, digits, '-' and '.'");
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("parts of the email domain must not start or end with '-'");
    }
    Ok(())
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Serde goes through these so a deserialised message re-runs `parse`.
impl TryFrom<String> for Email {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(input: &str) -> &'static str {
        let error = Email::parse(input).expect_err(input);
        assert_eq!(error.field, "email");
        error.code
    }

    /// Builds `local@domain` with exactly `total` bytes and a valid shape.
    fn email_of_len(total: usize) -> String {
        let local = "a".repeat(64);
        // "@" + 63 + "." + 63 + "." + filler + ".com"
        let filler = total - local.len() - 1 - 63 - 1 - 63 - 1 - 4;
        format!(
            "{local}@{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(filler)
        )
    }

    #[test]
    fn accepts_plain_address() {
        assert_eq!(
            Email::parse("ada@example.com").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn trims_and_lowercases() {
        let email = Email::parse("  John.Doe@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "john.doe@example.com");
        assert_eq!(email.as_ref(), "john.doe@example.com");
        assert_eq!(email.to_string(), "john.doe@example.com");
    }

    #[test]
    fn accepts_common_real_world_shapes() {
        for input in [
            "first.last+tag@sub.example.co.uk",
            "o'brien@example.ie",
            "user_name-1@my-domain123.org",
            "x@y.io",
        ] {
            assert_eq!(Email::parse(input).unwrap().as_str(), input);
        }
    }

    #[test]
    fn empty_or_blank_is_required() {
        assert_eq!(code_of(""), "required");
        assert_eq!(code_of("   \t"), "required");
    }

    #[test]
    fn missing_at_is_rejected() {
        assert_eq!(code_of("john.example.com"), "invalid_email");
    }

    #[test]
    fn two_ats_are_rejected() {
        assert_eq!(code_of("john@doe@example.com"), "invalid_email");
    }

    #[test]
    fn domain_without_dot_is_rejected() {
        assert_eq!(code_of("john@localhost"), "invalid_email");
    }

    #[test]
    fn length_boundary_is_254_bytes() {
        let ok = email_of_len(254);
        assert_eq!(ok.len(), 254);
        assert_eq!(Email::parse(&ok).unwrap().as_str(), ok);

        let too_long = email_of_len(255);
        assert_eq!(too_long.len(), 255);
        assert_eq!(code_of(&too_long), "too_long");
    }

    #[test]
    fn local_part_boundary_is_64_bytes() {
        let ok = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&ok).is_ok());
        let too_long = format!("{}@example.com", "a".repeat(65));
        assert_eq!(code_of(&too_long), "invalid_email");
    }

    #[test]
    fn empty_local_part_is_rejected() {
        assert_eq!(code_of("@example.com"), "invalid_email");
    }

    #[test]
    fn forbidden_local_characters_are_rejected() {
        for input in [
            "jo hn@example.com",
            "jo\"hn@example.com",
            "jo(hn@example.com",
            "jo)hn@example.com",
            "jo,hn@example.com",
            "jo:hn@example.com",
            "jo;hn@example.com",
            "jo<hn@example.com",
            "jo>hn@example.com",
            "jo[hn@example.com",
            "jo\\hn@example.com",
            "jo]hn@example.com",
            "jo\thn@example.com",
            "jöhn@example.com",
        ] {
            assert_eq!(code_of(input), "invalid_email", "{input:?}");
        }
    }

    #[test]
    fn kelvin_sign_is_not_folded_into_k() {
        assert_eq!(code_of("\u{212A}@example.com"), "invalid_email");
    }

    #[test]
    fn dots_in_local_part() {
        assert_eq!(code_of(".john@example.com"), "invalid_email");
        assert_eq!(code_of("john.@example.com"), "invalid_email");
        assert_eq!(code_of("jo..hn@example.com"), "invalid_email");
        assert!(Email::parse("j.o.h.n@example.com").is_ok());
    }

    #[test]
    fn domain_labels() {
        assert_eq!(code_of("a@example..com"), "invalid_email");
        assert_eq!(code_of("a@.example.com"), "invalid_email");
        assert_eq!(code_of("a@example.com."), "invalid_email");
        assert_eq!(code_of("a@-example.com"), "invalid_email");
        assert_eq!(code_of("a@example-.com"), "invalid_email");
        assert_eq!(code_of("a@exa_mple.com"), "invalid_email");
        assert_eq!(code_of("a@exämple.com"), "invalid_email");
        let long_label = format!("a@{}.com", "b".repeat(64));
        assert_eq!(code_of(&long_label), "invalid_email");
        let max_label = format!("a@{}.com", "b".repeat(63));
        assert!(Email::parse(&max_label).is_ok());
    }

    #[test]
    fn top_level_domain() {
        assert_eq!(code_of("a@example.c"), "invalid_email");
        assert_eq!(code_of("a@example.123"), "invalid_email");
        assert_eq!(code_of("a@example.c0m"), "invalid_email");
        assert!(Email::parse("a@example.de").is_ok());
    }

    #[test]
    fn serializes_as_plain_string() {
        let email = Email::parse("a@example.com").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"a@example.com\"");
    }

    #[test]
    fn deserialize_reruns_parse() {
        let email: Email = serde_json::from_str("\" A@Example.com \"").unwrap();
        assert_eq!(email.as_str(), "a@example.com");
        let error = serde_json::from_str::<Email>("\"not-an-email\"").unwrap_err();
        assert!(error.to_string().contains("email"), "{error}");
    }
}
