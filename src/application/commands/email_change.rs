//! Email change commands. As with recovery, a one-time token never travels in them: the request
//! names the new address, and confirming or reverting names the token's row (found by the API
//! from the token's hash).

use crate::domain::{Email, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeEmailCommand {
    pub command_id: Uuid,
    pub user_id: UserId,
    pub new_email: Email,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmEmailChangeCommand {
    pub command_id: Uuid,
    pub token_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevertEmailChangeCommand {
    pub command_id: Uuid,
    pub token_id: Uuid,
}
