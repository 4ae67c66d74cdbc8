use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::email::Email;
use super::errors::{FieldError, ValidationErrors};
use super::password::Password;
use super::person_name::PersonName;
use super::username::Username;

/// Identity of a user.
///
/// A distinct type so a user id cannot be passed where an event id (or any
/// other UUID) is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(Uuid);

impl UserId {
    /// UUIDv7 is time-ordered, which keeps B-tree index inserts local.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// `None` rather than an error: a malformed id in a path means "no such
    /// user", and the caller knows which response that deserves.
    pub fn parse_str(input: &str) -> Option<Self> {
        Uuid::parse_str(input).ok().map(Self)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for UserId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl From<UserId> for Uuid {
    fn from(id: UserId) -> Self {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    /// The stored and serialised form; changing it needs a data migration.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// Exact match only, so there is one canonical spelling in storage.
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything needed to create a user except the password.
///
/// The password is kept out so this can travel in a command message and be
/// logged with `Debug` without risk; the hash travels separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUserDetails {
    pub email: Email,
    pub username: Username,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

/// The parse step of registration, turning raw input into domain types.
pub struct RegistrationForm;

impl RegistrationForm {
    /// Runs every field's parser, even after a failure, so the client sees
    /// all problems in one response. Errors are in argument order.
    pub fn parse(
        email: &str,
        username: &str,
        first_name: &str,
        last_name: &str,
        password: String,
    ) -> Result<(NewUserDetails, Password), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = collect(Email::parse(email), &mut errors);
        let username = collect(Username::parse(username), &mut errors);
        let first_name = collect(PersonName::parse("first_name", first_name), &mut errors);
        let last_name = collect(PersonName::parse("last_name", last_name), &mut errors);
        let password = collect(Password::parse(password), &mut errors);
        match (email, username, first_name, last_name, password) {
            (Some(email), Some(username), Some(first_name), Some(last_name), Some(password)) => {
                let details = NewUserDetails {
                    email,
                    username,
                    first_name,
                    last_name,
                };
                Ok((details, password))
            }
            _ => Err(errors),
        }
    }
}

fn collect<T>(result: Result<T, FieldError>, errors: &mut ValidationErrors) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

/// A registered user as the rest of the system sees it.
///
/// Fields are public because every one of them is already a validated type;
/// there is no cross-field invariant left to protect.
/// `version` is for optimistic concurrency: an update must name the version
/// it read, so two concurrent edits cannot silently overwrite each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub username: Username,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub role: Role,
    pub is_active: bool,
    /// The owner proved the address by following the verification email.
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> NewUserDetails {
        NewUserDetails {
            email: Email::parse("ada@example.com").unwrap(),
            username: Username::parse("Ada").unwrap(),
            first_name: PersonName::parse("first_name", "Ada").unwrap(),
            last_name: PersonName::parse("last_name", "Lovelace").unwrap(),
        }
    }

    #[test]
    fn new_user_ids_are_v7_and_distinct() {
        let a = UserId::new();
        let b = UserId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_ne!(a, b);
    }

    #[test]
    fn user_id_parse_str() {
        let text = "0190f5c2-6f1a-7b3c-8d4e-5f6a7b8c9d0e";
        let id = UserId::parse_str(text).unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(Uuid::from(id), Uuid::parse_str(text).unwrap());
        assert_eq!(UserId::parse_str("not-a-uuid"), None);
        assert_eq!(UserId::parse_str(""), None);
    }

    #[test]
    fn user_id_serializes_as_plain_uuid_string() {
        let text = "0190f5c2-6f1a-7b3c-8d4e-5f6a7b8c9d0e";
        let id = UserId::parse_str(text).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
    }

    #[test]
    fn role_round_trips_through_str_and_serde() {
        for role in [Role::User, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::Admin.as_str(), "admin");
        assert_eq!(Role::User.to_string(), "user");
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse("superuser"), None);
    }

    #[test]
    fn registration_form_accepts_valid_input() {
        let (details, password) = RegistrationForm::parse(
            " Ada@Example.com ",
            "Ada",
            "Ada",
            " Lovelace ",
            "correct horse".to_owned(),
        )
        .unwrap();
        assert_eq!(details, self::details());
        assert_eq!(password.expose_secret(), "correct horse");
    }

    #[test]
    fn registration_form_collects_every_error() {
        let errors =
            RegistrationForm::parse("not-an-email", "ab", "Ada", "   ", "short".to_owned())
                .unwrap_err();
        let found: Vec<_> = errors.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            found,
            [
                ("email", "invalid_email"),
                ("username", "too_short"),
                ("last_name", "required"),
                ("password", "too_short"),
            ]
        );
    }

    #[test]
    fn registration_form_reports_all_five_fields() {
        let errors = RegistrationForm::parse("", "", "", "", String::new()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["email", "username", "first_name", "last_name", "password"]
        );
        assert!(errors.iter().all(|e| e.code == "required"));
    }

    #[test]
    fn new_user_details_json_shape_and_round_trip() {
        let json = serde_json::to_value(details()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "email": "ada@example.com",
                "username": "Ada",
                "first_name": "Ada",
                "last_name": "Lovelace",
            })
        );
        let back: NewUserDetails = serde_json::from_value(json).unwrap();
        assert_eq!(back, details());
    }

    #[test]
    fn new_user_details_rejects_smuggled_invalid_values() {
        let bad_email = serde_json::json!({
            "email": "not-an-email",
            "username": "Ada",
            "first_name": "Ada",
            "last_name": "Lovelace",
        });
        let error = serde_json::from_value::<NewUserDetails>(bad_email).unwrap_err();
        assert!(error.to_string().contains("email"), "{error}");

        let bad_name = serde_json::json!({
            "email": "ada@example.com",
            "username": "Ada",
            "first_name": "Ada\u{0}",
            "last_name": "Lovelace",
        });
        assert!(serde_json::from_value::<NewUserDetails>(bad_name).is_err());
    }

    #[test]
    fn full_name_joins_first_and_last() {
        let details = details();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let user = User {
            id: UserId::new(),
            email: details.email,
            username: details.username,
            first_name: details.first_name,
            last_name: details.last_name,
            role: Role::User,
            is_active: true,
            email_verified: false,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        assert_eq!(user.full_name(), "Ada Lovelace");
    }
}
