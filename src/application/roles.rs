//! Role changes, API side: only an admin may promote or demote, and the change travels as a
//! command to the workers like every other account change. The "last active admin" rule needs
//! the database's current state, so the worker's transaction enforces it (see
//! `infrastructure::postgres::role_commands`), not this actor.

use super::account::{AccountError, AccountService, Origin, submit};
use super::commands::{ChangeRoleCommand, Command};
use super::ports::Submission;
use crate::domain::{Principal, Role, UserId};
use actix::prelude::*;
use uuid::Uuid;

#[derive(Message)]
#[rtype(result = "Result<Submission, RoleError>")]
pub struct ChangeRole {
    pub principal: Principal,
    pub user_id: UserId,
    pub role: Role,
    pub origin: Origin,
}

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// Roles are an admin's business; the caller is not one.
    #[error("only an admin may change roles")]
    Forbidden,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl Handler<ChangeRole> for AccountService {
    type Result = ResponseFuture<Result<Submission, RoleError>>;

    fn handle(&mut self, msg: ChangeRole, _: &mut Context<Self>) -> Self::Result {
        let commands = self.commands();
        Box::pin(async move {
            if msg.principal.role != Role::Admin {
                return Err(RoleError::Forbidden);
            }
            let command = Command::from(ChangeRoleCommand {
                command_id: Uuid::now_v7(),
                user_id: msg.user_id,
                role: msg.role,
            });
            Ok(submit::<AccountError>(&commands, command, msg.origin).await?)
        })
    }
}

::actors::instrument!(AccountService: ChangeRole);
