use std::fmt;

use serde::Serialize;

/// One rejected input field.
///
/// `code` is a stable machine-readable string so clients can branch on it;
/// `message` is for humans and may be reworded at any time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Every problem found in one request, so a client can fix them all in one go
/// instead of discovering them one round trip at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[FieldError] {
        &self.0
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid input")?;
        for (i, error) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Business-rule failures that need state (the database) to decide, and so
/// cannot be caught by parsing alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("email is already registered")]
    EmailTaken,
    #[error("username is already taken")]
    UsernameTaken,
    #[error("user not found")]
    NotFound,
    #[error("the user was changed since the version you read")]
    VersionMismatch,
    #[error("the last active admin can be neither demoted nor deactivated")]
    LastAdmin,
    #[error("two-factor authentication is already enabled")]
    MfaAlreadyEnabled,
    #[error("no pending TOTP enrolment matches; start again")]
    MfaNotPending,
    /// A one-time token that is unknown, expired, already used or superseded.
    #[error("the token is invalid, expired or already used")]
    InvalidToken,
}

impl UserError {
    /// Stable machine-readable code; part of the public API contract.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmailTaken => "email_taken",
            Self::UsernameTaken => "username_taken",
            Self::NotFound => "user_not_found",
            Self::VersionMismatch => "version_mismatch",
            Self::LastAdmin => "last_admin",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaNotPending => "mfa_not_pending",
            Self::InvalidToken => "invalid_token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_errors() -> ValidationErrors {
        let mut errors = ValidationErrors::new();
        errors.push(FieldError::new(
            "email",
            "invalid_email",
            "must contain '@'",
        ));
        errors.push(FieldError::new("username", "too_short", "is too short"));
        errors
    }

    #[test]
    fn field_error_display_is_field_then_message() {
        let error = FieldError::new("email", "invalid_email", "must contain '@'");
        assert_eq!(error.to_string(), "email: must contain '@'");
    }

    #[test]
    fn validation_errors_display_lists_every_error() {
        assert_eq!(
            two_errors().to_string(),
            "invalid input: email: must contain '@'; username: is too short"
        );
    }

    #[test]
    fn empty_validation_errors_display() {
        let errors = ValidationErrors::new();
        assert!(errors.is_empty());
        assert_eq!(errors.len(), 0);
        assert_eq!(errors.to_string(), "invalid input");
    }

    #[test]
    fn push_and_iterate_preserve_order() {
        let errors = two_errors();
        assert!(!errors.is_empty());
        assert_eq!(errors.len(), 2);
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["email", "username"]);
        let codes: Vec<_> = (&errors).into_iter().map(|e| e.code).collect();
        assert_eq!(codes, ["invalid_email", "too_short"]);
        let owned: Vec<FieldError> = errors.into_iter().collect();
        assert_eq!(owned[1].message, "is too short");
    }

    #[test]
    fn from_single_field_error() {
        let errors = ValidationErrors::from(FieldError::new("password", "required", "missing"));
        assert_eq!(errors.as_slice().len(), 1);
        assert_eq!(errors.as_slice()[0].code, "required");
    }

    #[test]
    fn validation_errors_serialize_as_array() {
        let json = serde_json::to_value(two_errors()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"field": "email", "code": "invalid_email", "message": "must contain '@'"},
                {"field": "username", "code": "too_short", "message": "is too short"}
            ])
        );
    }

    #[test]
    fn user_error_codes_and_messages() {
        assert_eq!(UserError::EmailTaken.code(), "email_taken");
        assert_eq!(UserError::UsernameTaken.code(), "username_taken");
        assert_eq!(UserError::NotFound.code(), "user_not_found");
        assert_eq!(UserError::NotFound.to_string(), "user not found");
        assert_eq!(
            UserError::EmailTaken.to_string(),
            "email is already registered"
        );
    }
}
