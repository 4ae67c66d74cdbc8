//! Where a request came from (user agent, client address), as the HTTP layer saw it. Sessions
//! record it at login and on every refresh; it is its own module because both the session ports
//! (`ports`, `sessions`) and the login use cases (`auth`, `mfa_login`) carry it.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_user_agent_is_cut() {
        let info = ClientInfo::new(Some(&"x".repeat(2000)), None);
        assert_eq!(info.user_agent.unwrap().len(), ClientInfo::MAX_USER_AGENT);
    }
}
