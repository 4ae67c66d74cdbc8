//! Session management ports: a user lists their own sessions and ends one of them.
//!
//! Ending a session is the same kind of write as logout (the auth context's own table, revoked
//! at once by the API replica), and every replica's session cache hears of it through the
//! revocation notices (`infrastructure::postgres::revocation_listener`).

use super::ports::InfraError;
use crate::domain::UserId;
use actix::Message;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// The user's live (unrevoked, unexpired) sessions, newest first.
#[derive(Message)]
#[rtype(result = "Result<Vec<SessionInfo>, InfraError>")]
pub struct ListSessions {
    pub user_id: UserId,
}

/// Revoke one of the user's own sessions; `false` if it is not theirs or not live.
#[derive(Message)]
#[rtype(result = "Result<bool, InfraError>")]
pub struct EndSession {
    pub user_id: UserId,
    pub session_id: Uuid,
}
