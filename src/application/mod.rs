//! Use cases. Depends on `domain` only (never on `infrastructure`, `http`, `metrics` or
//! `notifications`); talks to the outside world through ports (`ports`, `mfa_ports`), which are
//! message protocols: any actor that handles the message can stand behind a port, and
//! `startup` decides which one does.
//!
//! - Command side (API process): [`register_user::RegistrationService`] validates, hashes on the
//!   hashing pool and records the command durably (command log + outbox, one transaction).
//! - Command side (worker process): the `ports::ApplyCommand` port applies a command
//!   exactly once, whatever the number of deliveries.
//! - API side: [`auth::AuthService`], [`account::AccountService`], [`mfa::MfaService`] and
//!   [`recovery::RecoveryService`] (login, account changes, TOTP, password reset).
//! - Query side: `GetUser` / `GetCommand` are answered by read-model actors, and
//!   [`event_feed::ReadEvents`] by the event log (the public events, in commit order).

pub mod account;
pub mod auth;
pub mod client_info;
pub mod commands;
pub mod email_change;
pub mod event_feed;
#[cfg(test)]
mod fake_ports;
pub mod mfa;
pub mod mfa_challenge;
pub mod mfa_login;
pub mod mfa_ports;
pub mod oauth2;
pub mod oauth2_client;
pub mod one_time_token;
pub mod outcomes;
pub mod ports;
pub mod readiness;
pub mod recovery;
pub mod register_user;
pub mod roles;
pub mod sessions;
