//! Worker side: applies commands. Idempotency lives in the repository transaction (the command
//! row is locked and checked first), so a redelivered command never creates a second user or a
//! second event.

use super::commands::{Command, CommandResult};
use super::ports::{ApplyUserCommand, InfraError};
use ::actors::Port;
use actix::prelude::*;

#[derive(Message)]
#[rtype(result = "Result<CommandResult, InfraError>")]
pub struct ExecuteCommand {
    pub command: Command,
}

pub struct CommandExecutor {
    users: Port<ApplyUserCommand>,
}

impl CommandExecutor {
    pub fn new(users: Port<ApplyUserCommand>) -> Self {
        Self { users }
    }
}

impl Actor for CommandExecutor {
    type Context = Context<Self>;
}

impl Supervised for CommandExecutor {}

impl Handler<ExecuteCommand> for CommandExecutor {
    type Result = ResponseFuture<Result<CommandResult, InfraError>>;

    fn handle(&mut self, msg: ExecuteCommand, _: &mut Context<Self>) -> Self::Result {
        let users = self.users.clone();
        Box::pin(async move {
            // Every command of the users context is applied by the users repository; other
            // contexts' commands would be routed to their own ports here.
            match msg.command {
                command @ (Command::RegisterUser(_)
                | Command::UpdateUser(_)
                | Command::DeactivateUser(_)
                | Command::ChangePassword(_)
                | Command::ChangeRole(_)
                | Command::EnrolTotp(_)
                | Command::ConfirmTotp(_)
                | Command::DisableTotp(_)
                | Command::RequestPasswordReset(_)
                | Command::ResetPassword(_)
                | Command::RequestEmailVerification(_)
                | Command::VerifyEmail(_)) => users
                    .ask(ApplyUserCommand { command })
                    .await
                    .map_err(|e| InfraError::new("user repository", e))?,
            }
        })
    }
}

::actors::instrument!(CommandExecutor: ExecuteCommand);

#[cfg(test)]
mod tests {
    //! The executor against an in-memory repository actor: the port is the seam.
    use super::*;
    use crate::application::commands::{CommandSubject, RegisterUserCommand};
    use crate::domain::{PasswordHash, RegistrationForm, UserError, UserId};
    use std::collections::HashSet;

    #[derive(Default)]
    struct InMemoryUsers {
        emails: HashSet<String>,
        applied: HashSet<uuid::Uuid>,
    }
    impl Actor for InMemoryUsers {
        type Context = Context<Self>;
    }
    impl Handler<ApplyUserCommand> for InMemoryUsers {
        type Result = Result<CommandResult, InfraError>;
        fn handle(&mut self, msg: ApplyUserCommand, _: &mut Context<Self>) -> Self::Result {
            let Command::RegisterUser(c) = msg.command else {
                unreachable!("only registrations here")
            };
            if !self.applied.insert(c.command_id) {
                return Ok(CommandResult::AlreadyApplied(
                    super::super::commands::CommandStatus::Succeeded,
                ));
            }
            if !self.emails.insert(c.details.email.as_str().to_owned()) {
                return Ok(CommandResult::Rejected(UserError::EmailTaken));
            }
            Ok(CommandResult::Succeeded {
                subject: CommandSubject::User(c.user_id),
            })
        }
    }
    ::actors::instrument!(InMemoryUsers: ApplyUserCommand);

    fn command(email: &str) -> Command {
        let (details, _) =
            RegistrationForm::parse(email, "someone", "A", "B", "password123".into()).unwrap();
        Command::RegisterUser(RegisterUserCommand {
            command_id: uuid::Uuid::now_v7(),
            user_id: UserId::new(),
            details,
            password_hash: PasswordHash::new("$2b$04$hash".into()),
        })
    }

    #[actix_rt::test]
    async fn executes_through_the_port_and_reports_each_outcome() {
        let users = ::actors::ActorRef::new(InMemoryUsers::default().start());
        let executor = ::actors::ActorRef::new(CommandExecutor::new(users.port()).start());
        let first = command("a@example.com");
        let Command::RegisterUser(registration) = &first else {
            unreachable!()
        };
        let user_id = registration.user_id;
        let result = executor
            .ask(ExecuteCommand {
                command: first.clone(),
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            result,
            CommandResult::Succeeded {
                subject: CommandSubject::User(user_id)
            }
        );
        let again = executor
            .ask(ExecuteCommand { command: first })
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(again, CommandResult::AlreadyApplied(_)));
        let duplicate = executor
            .ask(ExecuteCommand {
                command: command("a@example.com"),
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(duplicate, CommandResult::Rejected(UserError::EmailTaken));
    }
}
