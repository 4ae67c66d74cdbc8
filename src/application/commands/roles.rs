//! The role change command (admin only).

use crate::domain::Role;
use crate::domain::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeRoleCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
    pub role: Role,
}
