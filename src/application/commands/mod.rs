//! The commands that travel from the API to the workers, and what became of them.
//!
//! A command carries the password *hash*, never the plaintext: the plaintext is hashed inside the
//! API process and dropped there.

use crate::domain::{NewUserDetails, PasswordHash, PersonName, UserError, UserId, Username};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod declare;
mod email_change;
mod mfa;
mod oauth2_clients;
mod recovery;
mod roles;

pub use declare::{Applies, CommandType, Declaration};
pub use email_change::{ChangeEmailCommand, ConfirmEmailChangeCommand, RevertEmailChangeCommand};
pub use mfa::{ConfirmTotpCommand, DisableTotpCommand, EnrolTotpCommand};
pub use oauth2_clients::{
    DeleteClientCommand, RegisterClientCommand, RotateClientSecretCommand, UpdateClientCommand,
};
pub use recovery::{
    RequestEmailVerificationCommand, RequestPasswordResetCommand, ResetPasswordCommand,
    VerifyEmailCommand,
};
pub use roles::ChangeRoleCommand;

// Each command, declared once: kind(payload) => routing key, the model's operation label, schema
// version. See `declare.rs` for what derives from a line.
declare::commands! {
    RegisterUser(RegisterUserCommand) => "users.register", "register", v 1;
    UpdateUser(UpdateUserCommand) => "users.update", "update", v 1;
    DeactivateUser(DeactivateUserCommand) => "users.deactivate", "deactivate", v 1;
    ChangePassword(ChangePasswordCommand) => "users.change-password", "change_password", v 1;
    ChangeRole(ChangeRoleCommand) => "users.change-role", "change_role", v 1;
    EnrolTotp(EnrolTotpCommand) => "users.mfa.enrol-totp", "enrol_totp", v 1;
    ConfirmTotp(ConfirmTotpCommand) => "users.mfa.confirm-totp", "confirm_totp", v 1;
    DisableTotp(DisableTotpCommand) => "users.mfa.disable-totp", "disable_totp", v 1;
    RequestPasswordReset(RequestPasswordResetCommand)
        => "users.request-password-reset", "request_password_reset", v 1;
    ResetPassword(ResetPasswordCommand) => "users.reset-password", "reset_password", v 1;
    RequestEmailVerification(RequestEmailVerificationCommand)
        => "users.request-email-verification", "request_email_verification", v 1;
    VerifyEmail(VerifyEmailCommand) => "users.verify-email", "verify_email", v 1;
    ChangeEmail(ChangeEmailCommand) => "users.change-email", "change_email", v 1;
    ConfirmEmailChange(ConfirmEmailChangeCommand)
        => "users.confirm-email-change", "confirm_email_change", v 1;
    RevertEmailChange(RevertEmailChangeCommand)
        => "users.revert-email-change", "revert_email_change", v 1;
    // OAuth clients ride the users context's command queue (`users.#`): the same service owns
    // them, and one queue keeps one ordering and one dead-letter path.
    RegisterClient(RegisterClientCommand)
        => "users.oauth2-client.register", "register_oauth2_client", v 1;
    UpdateClient(UpdateClientCommand) => "users.oauth2-client.update", "update_oauth2_client", v 1;
    DeleteClient(DeleteClientCommand) => "users.oauth2-client.delete", "delete_oauth2_client", v 1;
    RotateClientSecret(RotateClientSecretCommand)
        => "users.oauth2-client.rotate-secret", "rotate_oauth2_client_secret", v 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterUserCommand {
    pub command_id: Uuid,
    /// Chosen by the API so that every delivery of the command creates the same user.
    pub user_id: UserId,
    pub details: NewUserDetails,
    pub password_hash: PasswordHash,
}

/// Profile fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileChanges {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub username: Option<Username>,
}

impl ProfileChanges {
    pub fn changed_fields(&self) -> Vec<String> {
        [
            ("first_name", self.first_name.is_some()),
            ("last_name", self.last_name.is_some()),
            ("username", self.username.is_some()),
        ]
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(f, _)| f.to_owned())
        .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateUserCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
    pub changes: ProfileChanges,
    /// From `If-Match`: apply only if the user is still at this version (optimistic concurrency).
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeactivateUserCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePasswordCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
    pub password_hash: PasswordHash,
    /// The session that asked for the change survives; every other one is revoked.
    pub keep_session: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    Pending,
    Succeeded,
    Failed,
}

impl CommandStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Pending => "pending",
            CommandStatus::Succeeded => "succeeded",
            CommandStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(CommandStatus::Pending),
            "succeeded" => Some(CommandStatus::Succeeded),
            "failed" => Some(CommandStatus::Failed),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        self != CommandStatus::Pending
    }
}

/// The command log's view of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    pub id: Uuid,
    pub kind: String,
    pub status: CommandStatus,
    pub error_code: Option<FailureCode>,
    pub error_detail: Option<String>,
    /// What the command was about, once it succeeded.
    pub subject: Option<CommandSubject>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Why a command, or the API's own check before one, was refused: the stable machine-readable
/// `code` of the answer (part of the public contract), stored in `commands.error_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCode {
    EmailTaken,
    UsernameTaken,
    UserNotFound,
    VersionMismatch,
    LastAdmin,
    MfaAlreadyEnabled,
    MfaNotPending,
    /// Refused by the API before a command (nothing to disable); never in the command log.
    MfaNotEnabled,
    InvalidToken,
}

impl FailureCode {
    const ALL: [FailureCode; 9] = [
        FailureCode::EmailTaken,
        FailureCode::UsernameTaken,
        FailureCode::UserNotFound,
        FailureCode::VersionMismatch,
        FailureCode::LastAdmin,
        FailureCode::MfaAlreadyEnabled,
        FailureCode::MfaNotPending,
        FailureCode::MfaNotEnabled,
        FailureCode::InvalidToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::EmailTaken => "email_taken",
            FailureCode::UsernameTaken => "username_taken",
            FailureCode::UserNotFound => "user_not_found",
            FailureCode::VersionMismatch => "version_mismatch",
            FailureCode::LastAdmin => "last_admin",
            FailureCode::MfaAlreadyEnabled => "mfa_already_enabled",
            FailureCode::MfaNotPending => "mfa_not_pending",
            FailureCode::MfaNotEnabled => "mfa_not_enabled",
            FailureCode::InvalidToken => "invalid_token",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == s)
    }

    /// About the two-factor state (one problem type covers them all).
    pub fn is_mfa(self) -> bool {
        matches!(
            self,
            FailureCode::MfaAlreadyEnabled
                | FailureCode::MfaNotPending
                | FailureCode::MfaNotEnabled
        )
    }
}

/// The worker stores `UserError::code()`; this is the same code, typed.
impl From<UserError> for FailureCode {
    fn from(e: UserError) -> Self {
        match e {
            UserError::EmailTaken => FailureCode::EmailTaken,
            UserError::UsernameTaken => FailureCode::UsernameTaken,
            UserError::NotFound => FailureCode::UserNotFound,
            UserError::VersionMismatch => FailureCode::VersionMismatch,
            UserError::LastAdmin => FailureCode::LastAdmin,
            UserError::MfaAlreadyEnabled => FailureCode::MfaAlreadyEnabled,
            UserError::MfaNotPending => FailureCode::MfaNotPending,
            UserError::InvalidToken => FailureCode::InvalidToken,
        }
    }
}

/// What a command that succeeded was about. The application speaks ids; the API turns a subject
/// into the URL it serves it at (`Location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandSubject {
    User(UserId),
    /// A password-reset request names no account: whether the address has one stays hidden.
    PasswordReset,
    OAuthClient(Uuid),
}

impl CommandSubject {
    /// The `commands.subject_kind` column.
    pub fn kind(self) -> &'static str {
        match self {
            CommandSubject::User(_) => "user",
            CommandSubject::PasswordReset => "password_reset",
            CommandSubject::OAuthClient(_) => "oauth2_client",
        }
    }

    /// The `commands.subject_id` column.
    pub fn id(self) -> Option<Uuid> {
        match self {
            CommandSubject::User(id) => Some(id.as_uuid()),
            CommandSubject::PasswordReset => None,
            CommandSubject::OAuthClient(id) => Some(id),
        }
    }

    /// Back from the two columns; `None` for a pair no version of this service writes.
    pub fn from_columns(kind: &str, id: Option<Uuid>) -> Option<Self> {
        match (kind, id) {
            ("user", Some(id)) => Some(CommandSubject::User(UserId::from_uuid(id))),
            ("password_reset", None) => Some(CommandSubject::PasswordReset),
            ("oauth2_client", Some(id)) => Some(CommandSubject::OAuthClient(id)),
            _ => None,
        }
    }
}

/// What applying a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandResult {
    Succeeded {
        subject: CommandSubject,
    },
    /// A business rule said no; final, not retried.
    Rejected(UserError),
    /// Applied before (a redelivery): nothing was done again.
    AlreadyApplied(CommandStatus),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip_through_their_columns() {
        let user = CommandSubject::User(UserId::new());
        let client = CommandSubject::OAuthClient(Uuid::now_v7());
        for subject in [user, CommandSubject::PasswordReset, client] {
            assert_eq!(
                CommandSubject::from_columns(subject.kind(), subject.id()),
                Some(subject)
            );
        }
        assert_eq!(CommandSubject::from_columns("user", None), None);
        assert_eq!(CommandSubject::from_columns("other", None), None);
    }

    #[test]
    fn failure_codes_parse_back_and_match_the_stored_user_error_codes() {
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(FailureCode::parse("conflict"), None);
        for e in [
            UserError::EmailTaken,
            UserError::UsernameTaken,
            UserError::NotFound,
            UserError::VersionMismatch,
            UserError::LastAdmin,
            UserError::MfaAlreadyEnabled,
            UserError::MfaNotPending,
            UserError::InvalidToken,
        ] {
            assert_eq!(FailureCode::parse(e.code()), Some(FailureCode::from(e)));
        }
    }
}
