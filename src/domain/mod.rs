//! The user-management domain: types that can only hold valid values, and
//! the rules that decide validity.
//!
//! Kept pure (std, serde, uuid, chrono, thiserror, zxcvbn, unicode-normalization, and for TOTP hmac/sha1/data-encoding only; no I/O, no async, no
//! logging) so every rule is testable in microseconds and no adapter can
//! leak into it. Input is parsed into these types once, at the edge; past
//! that point the rest of the code never re-validates.

mod access;
mod email;
mod errors;
mod events;
mod lockout;
mod password;
mod password_hash;
mod password_policy;
mod person_name;
pub mod totp;
mod user;
mod username;

pub use access::{Principal, can_manage};
pub use email::Email;
pub use errors::{FieldError, UserError, ValidationErrors};
pub use events::{DomainEvent, EventDeclaration, EventKind};
pub use lockout::LockoutPolicy;
pub use password::Password;
pub use password_hash::{Argon2Params, BCRYPT_MAX_BYTES, PasswordHash, PasswordHashing};
pub use password_policy::check_strength;
pub use person_name::PersonName;
pub use user::{NewUserDetails, RegistrationForm, Role, User, UserId};
pub use username::Username;
