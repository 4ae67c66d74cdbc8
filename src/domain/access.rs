//! Who is asking, and what they may touch.

use super::{Role, UserId};
use uuid::Uuid;

/// An authenticated caller: the subject of a valid, unrevoked access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub session_id: Uuid,
}

/// A user manages their own account; an admin manages every account.
pub fn can_manage(principal: &Principal, target: UserId) -> bool {
    principal.role == Role::Admin || principal.user_id == target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: UserId::new(),
            email: "a@example.com".into(),
            role,
            session_id: Uuid::nil(),
        }
    }

    #[test]
    fn users_manage_themselves_and_admins_everyone() {
        let user = principal(Role::User);
        assert!(can_manage(&user, user.user_id));
        assert!(!can_manage(&user, UserId::new()));
        assert!(can_manage(&principal(Role::Admin), UserId::new()));
    }
}
