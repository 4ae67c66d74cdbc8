use std::fmt;

use serde::{Deserialize, Serialize};

use super::errors::FieldError;

const MAX_LEN: usize = 100;
// Serde cannot tell us which struct field is being read, so errors raised
// while deserialising report this generic name instead.
const SERDE_FIELD: &str = "name";

/// A first or last name.
///
/// Names are famously irregular, so beyond a length cap the only rule is "no
/// control characters": those break logs, CSV exports and terminal output,
/// while every printable script stays allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// `field` names the input (e.g. "first_name") so errors point at it.
    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(
                field,
                "required",
                format!("{field} is required"),
            ));
        }
        // Characters, not bytes: a limit in bytes would punish non-Latin scripts.
        if trimmed.chars().count() > MAX_LEN {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("{field} must be at most {MAX_LEN} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "invalid_characters",
                format!("{field} must not contain control characters"),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Serde goes through these so a deserialised message re-runs `parse`.
impl TryFrom<String> for PersonName {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(SERDE_FIELD, &value)
    }
}

impl From<PersonName> for String {
    fn from(name: PersonName) -> Self {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(input: &str) -> &'static str {
        let error = PersonName::parse("last_name", input).expect_err(input);
        assert_eq!(error.field, "last_name");
        error.code
    }

    #[test]
    fn trims_and_keeps_text() {
        let name = PersonName::parse("first_name", "  Zoë O'Brien-Smith ").unwrap();
        assert_eq!(name.as_str(), "Zoë O'Brien-Smith");
        assert_eq!(name.as_ref(), "Zoë O'Brien-Smith");
        assert_eq!(name.to_string(), "Zoë O'Brien-Smith");
    }

    #[test]
    fn empty_or_whitespace_only_is_required() {
        assert_eq!(code_of(""), "required");
        assert_eq!(code_of(" \t\n "), "required");
    }

    #[test]
    fn error_names_the_given_field() {
        let error = PersonName::parse("first_name", "").unwrap_err();
        assert_eq!(error.field, "first_name");
        assert_eq!(error.message, "first_name is required");
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(PersonName::parse("first_name", &"a".repeat(100)).is_ok());
        assert_eq!(code_of(&"a".repeat(101)), "too_long");
        let multibyte = "é".repeat(100);
        assert_eq!(multibyte.len(), 200);
        assert_eq!(
            PersonName::parse("first_name", &multibyte)
                .unwrap()
                .as_str(),
            multibyte
        );
        assert_eq!(code_of(&"é".repeat(101)), "too_long");
    }

    #[test]
    fn rejects_control_characters() {
        assert_eq!(code_of("Ada\u{0}"), "invalid_characters");
        assert_eq!(code_of("Ada\nLovelace"), "invalid_characters");
        assert_eq!(code_of("Ada\u{1b}[31m"), "invalid_characters");
        // U+0085 counts as whitespace, so only an interior one reaches the check.
        assert_eq!(code_of("A\u{85}da"), "invalid_characters");
        assert_eq!(code_of("A\u{7f}da"), "invalid_characters");
    }

    #[test]
    fn accepts_non_latin_scripts() {
        for input in ["李", "Дмитрий", "محمد", "Ngũgĩ"] {
            assert_eq!(
                PersonName::parse("first_name", input).unwrap().as_str(),
                input
            );
        }
    }

    #[test]
    fn serde_is_a_plain_string_and_reparses() {
        let name = PersonName::parse("first_name", "Ada").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Ada\"");
        let back: PersonName = serde_json::from_str("\"Ada\"").unwrap();
        assert_eq!(back, name);
        let error = serde_json::from_str::<PersonName>("\"  \"").unwrap_err();
        assert!(error.to_string().contains("name is required"), "{error}");
    }
}
