use std::fmt;

use serde::{Deserialize, Serialize};

use super::errors::FieldError;

const FIELD: &str = "username";
const MIN_LEN: usize = 3;
const MAX_LEN: usize = 50;

/// A public handle: 3–50 ASCII letters, digits or underscores.
///
/// ASCII-only so that look-alike characters cannot impersonate another user
/// and so that case folding is trivial and unambiguous.
/// The case the user typed is kept for display; compare with `normalized()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(FIELD, "required", "username is required"));
        }
        let len = trimmed.chars().count();
        if len < MIN_LEN {
            return Err(FieldError::new(
                FIELD,
                "too_short",
                format!("username must be at least {MIN_LEN} characters"),
            ));
        }
        if len > MAX_LEN {
            return Err(FieldError::new(
                FIELD,
                "too_long",
                format!("username must be at most {MAX_LEN} characters"),
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if !trimmed.chars().all(allowed) {
            return Err(FieldError::new(
                FIELD,
                "invalid_characters",
                "username may only contain letters A-Z, digits and '_'",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key for uniqueness checks: "Ada" and "ada" are the same account.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Serde goes through these so a deserialised message re-runs `parse`.
impl TryFrom<String> for Username {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(username: Username) -> Self {
        username.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(input: &str) -> &'static str {
        let error = Username::parse(input).expect_err(input);
        assert_eq!(error.field, "username");
        error.code
    }

    #[test]
    fn length_boundaries() {
        assert_eq!(code_of("ab"), "too_short");
        assert_eq!(Username::parse("abc").unwrap().as_str(), "abc");
        let fifty = "a".repeat(50);
        assert_eq!(Username::parse(&fifty).unwrap().as_str(), fifty);
        assert_eq!(code_of(&"a".repeat(51)), "too_long");
    }

    #[test]
    fn empty_or_blank_is_required() {
        assert_eq!(code_of(""), "required");
        assert_eq!(code_of("   "), "required");
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        assert_eq!(code_of("ada-l"), "invalid_characters");
        assert_eq!(code_of("ada l"), "invalid_characters");
        assert_eq!(code_of("adé"), "invalid_characters");
        assert_eq!(code_of("ada.l"), "invalid_characters");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Two chars but four bytes: must be "too short", not slip through.
        assert_eq!(code_of("éé"), "too_short");
        assert_eq!(code_of("ééé"), "invalid_characters");
    }

    #[test]
    fn trims_and_keeps_case() {
        let username = Username::parse("  Ada_Lovelace_1815 ").unwrap();
        assert_eq!(username.as_str(), "Ada_Lovelace_1815");
        assert_eq!(username.as_ref(), "Ada_Lovelace_1815");
        assert_eq!(username.to_string(), "Ada_Lovelace_1815");
        assert_eq!(username.normalized(), "ada_lovelace_1815");
    }

    #[test]
    fn serde_is_a_plain_string_and_reparses() {
        let username = Username::parse("Ada").unwrap();
        assert_eq!(serde_json::to_string(&username).unwrap(), "\"Ada\"");
        let back: Username = serde_json::from_str("\"Ada\"").unwrap();
        assert_eq!(back, username);
        assert!(serde_json::from_str::<Username>("\"a-b\"").is_err());
    }
}
