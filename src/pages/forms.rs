//! What the form pages share: errors shown next to their field, and a command's outcome as a
//! page can tell it (the same settlement as the REST routes, `command_reply::settle`).

use super::render::PageError;
use crate::application::commands::FailureCode;
use crate::application::ports::Submission;
use crate::domain::ValidationErrors;
use crate::http::ApiState;
use crate::http::problem::ApiError;
use crate::http::routes::command_reply::{Settled, settle};
use actix_web::HttpRequest;

/// Messages by field name; `form` is the one for the whole form.
#[derive(Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        Self(vec![(field.to_owned(), message.into())])
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ValidationErrors> for Fields {
    fn from(errors: ValidationErrors) -> Self {
        let mut fields = Self::default();
        for e in errors {
            if fields.get(e.field).is_none() {
                let mut message = e.message;
                if let Some(first) = message.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                fields.0.push((e.field.to_owned(), format!("{message}.")));
            }
        }
        fields
    }
}

/// How a command ended, as far as the page waited.
pub enum Outcome {
    Done,
    /// Still being applied when the wait ran out: it will be, the page says so.
    Pending,
    Refused(FailureCode),
    InvalidToken,
}

pub async fn outcome(
    state: &ApiState,
    req: &HttpRequest,
    submission: Submission,
) -> Result<Outcome, PageError> {
    match settle(state, req, submission).await {
        Ok(Settled::Succeeded(..)) => Ok(Outcome::Done),
        Ok(Settled::Pending(_)) => Ok(Outcome::Pending),
        Err(ApiError::Conflict { code, .. }) => Ok(Outcome::Refused(code)),
        Err(ApiError::InvalidToken) => Ok(Outcome::InvalidToken),
        Err(ApiError::NotFound(_)) => Ok(Outcome::Refused(FailureCode::UserNotFound)),
        Err(ApiError::PreconditionFailed) => Ok(Outcome::Refused(FailureCode::VersionMismatch)),
        Err(e) => Err(e.into()),
    }
}

/// What a person is told about a password found by breached-password screening.
pub const BREACHED: &str =
    "This password appears in known data breaches, so attackers try it early. Choose another.";

/// What a person is told about a refused command.
pub fn refusal(code: FailureCode) -> (&'static str, &'static str) {
    match code {
        FailureCode::EmailTaken => ("email", "This email address is already registered."),
        FailureCode::UsernameTaken => ("username", "This username is taken; choose another."),
        FailureCode::LastAdmin => (
            "form",
            "This is the last admin: make someone else an admin first.",
        ),
        FailureCode::MfaAlreadyEnabled => ("form", "Two-factor authentication is already on."),
        FailureCode::MfaNotPending | FailureCode::MfaNotEnabled => (
            "form",
            "Start the set-up of two-factor authentication again.",
        ),
        FailureCode::InvalidToken => ("form", "This link is invalid, expired or already used."),
        FailureCode::VersionMismatch => {
            ("form", "Someone changed this at the same time; try again.")
        }
        FailureCode::UserNotFound => ("form", "The account no longer exists."),
    }
}
