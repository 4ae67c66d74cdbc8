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

/// Where a session was opened from, as the HTTP layer saw it (login and every refresh).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The `User-Agent` header, cut to [`ClientInfo::MAX_USER_AGENT`] characters.
    pub user_agent: Option<String>,
    /// The client address as the HTTP layer determines it (the peer address).
    pub ip: Option<String>,
}

impl ClientInfo {
    pub const MAX_USER_AGENT: usize = 512;

    pub fn new(user_agent: Option<&str>, ip: Option<String>) -> Self {
        Self {
            user_agent: user_agent.map(|ua| ua.chars().take(Self::MAX_USER_AGENT).collect()),
            ip,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_user_agent_is_cut() {
        let info = ClientInfo::new(Some(&"x".repeat(2000)), None);
        assert_eq!(info.user_agent.unwrap().len(), ClientInfo::MAX_USER_AGENT);
    }
}
