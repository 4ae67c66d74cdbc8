//! The context's own model: the event it reacts to, and the port through which a welcome is sent.

use actix::Message;
use serde::Deserialize;
use uuid::Uuid;

/// `UserCreated` as this context reads it (the fields it needs; others are ignored, so the
/// users context may add fields freely).
#[derive(Debug, Clone, Deserialize)]
pub struct UserCreated {
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub username: String,
}

/// The port: "send this user a welcome". Implementations must be idempotent by `event_id`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Delivered, NotificationError>")]
pub struct SendWelcome {
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub username: String,
}

impl From<UserCreated> for SendWelcome {
    fn from(e: UserCreated) -> Self {
        Self {
            event_id: e.event_id,
            user_id: e.user_id,
            email: e.email,
            username: e.username,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    /// This event's welcome was sent before (a redelivery): nothing was sent again.
    AlreadySent,
}

/// A transient failure (the mail server or the database is unavailable): try again later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("sending a notification failed: {0}")]
pub struct NotificationError(pub String);
