//! Registering OAuth clients (admins only): each change is a command for the workers, like a
//! user's. The API side generates a confidential client's secret, hands it back once and sends
//! only its hash on.

use super::model::{AuthMethod, ClientSpec, GrantType, secret_hash};
use super::ports::FindClient;
use super::random_token;
use crate::application::account::{Origin, submit};
use crate::application::commands::{
    Command, DeleteClientCommand, RegisterClientCommand, RotateClientSecretCommand,
    UpdateClientCommand,
};
use crate::application::ports::{InfraError, Submission, SubmitCommand};
use crate::domain::{Principal, Role, ValidationErrors};
use ::actors::Port;
use actix::prelude::*;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ClientAdminError {
    #[error("this operation needs the admin role")]
    Forbidden,
    #[error("no such client")]
    NotFound,
    #[error("invalid client registration")]
    Invalid(#[source] ValidationErrors),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<MailboxError> for ClientAdminError {
    fn from(e: MailboxError) -> Self {
        ClientAdminError::Infra(InfraError::new("client admin actor", e))
    }
}

/// What a registration or rotation answers: the command, the client, and the secret (once).
#[derive(Clone)]
pub struct ClientSubmission {
    pub submission: Submission,
    pub client_id: Uuid,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientSubmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (submission, id) = (&self.submission, self.client_id);
        write!(
            f,
            "ClientSubmission {{ {submission:?}, client_id: {id}, client_secret: *** }}"
        )
    }
}

#[derive(Message)]
#[rtype(result = "Result<ClientSubmission, ClientAdminError>")]
pub struct RegisterClient {
    pub principal: Principal,
    pub spec: ClientSpec,
    pub origin: Origin,
}

/// Registration fields to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub token_endpoint_auth_method: Option<AuthMethod>,
    pub scopes: Option<Vec<String>>,
    pub first_party: Option<bool>,
}

#[derive(Message)]
#[rtype(result = "Result<ClientSubmission, ClientAdminError>")]
pub struct UpdateClient {
    pub principal: Principal,
    pub client_id: Uuid,
    pub changes: ClientChanges,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<ClientSubmission, ClientAdminError>")]
pub struct DeleteClient {
    pub principal: Principal,
    pub client_id: Uuid,
    pub origin: Origin,
}

#[derive(Message)]
#[rtype(result = "Result<ClientSubmission, ClientAdminError>")]
pub struct RotateClientSecret {
    pub principal: Principal,
    pub client_id: Uuid,
    pub origin: Origin,
}

pub struct ClientAdmin {
    commands: Port<SubmitCommand>,
    clients: Port<FindClient>,
}

impl ClientAdmin {
    pub fn new(commands: Port<SubmitCommand>, clients: Port<FindClient>) -> Self {
        Self { commands, clients }
    }
}

impl Actor for ClientAdmin {
    type Context = Context<Self>;
}

impl Supervised for ClientAdmin {}

fn admin(principal: &Principal) -> Result<(), ClientAdminError> {
    match principal.role {
        Role::Admin => Ok(()),
        _ => Err(ClientAdminError::Forbidden),
    }
}

/// A new secret (256 random bits) and its hash, for a confidential client.
fn new_secret(method: AuthMethod) -> (Option<String>, Option<Vec<u8>>) {
    if method == AuthMethod::None {
        return (None, None);
    }
    let secret = random_token();
    let hash = secret_hash(&secret);
    (Some(secret), Some(hash))
}

type Reply = ResponseFuture<Result<ClientSubmission, ClientAdminError>>;

async fn existing(
    clients: &Port<FindClient>,
    id: Uuid,
) -> Result<super::model::Client, ClientAdminError> {
    (clients.ask(FindClient { id }).await??).ok_or(ClientAdminError::NotFound)
}

impl Handler<RegisterClient> for ClientAdmin {
    type Result = Reply;

    fn handle(&mut self, msg: RegisterClient, _: &mut Context<Self>) -> Reply {
        let commands = self.commands.clone();
        Box::pin(async move {
            admin(&msg.principal)?;
            msg.spec.validate().map_err(ClientAdminError::Invalid)?;
            let client_id = Uuid::new_v4();
            let (client_secret, secret_hash) = new_secret(msg.spec.token_endpoint_auth_method);
            let command = Command::from(RegisterClientCommand {
                command_id: Uuid::now_v7(),
                client_id,
                spec: msg.spec,
                secret_hash,
            });
            let submission = submit::<ClientAdminError>(&commands, command, msg.origin).await?;
            Ok(ClientSubmission {
                submission,
                client_id,
                client_secret,
            })
        })
    }
}

impl Handler<UpdateClient> for ClientAdmin {
    type Result = Reply;

    fn handle(&mut self, msg: UpdateClient, _: &mut Context<Self>) -> Reply {
        let (commands, clients) = (self.commands.clone(), self.clients.clone());
        Box::pin(async move {
            admin(&msg.principal)?;
            let current = existing(&clients, msg.client_id).await?;
            let c = msg.changes;
            let was = current.spec.clone();
            let spec = ClientSpec {
                name: c.name.unwrap_or(was.name),
                redirect_uris: c.redirect_uris.unwrap_or(was.redirect_uris),
                post_logout_redirect_uris: c
                    .post_logout_redirect_uris
                    .unwrap_or(was.post_logout_redirect_uris),
                grant_types: c.grant_types.unwrap_or(was.grant_types),
                token_endpoint_auth_method: c
                    .token_endpoint_auth_method
                    .unwrap_or(was.token_endpoint_auth_method),
                scopes: c.scopes.unwrap_or(was.scopes),
                first_party: c.first_party.unwrap_or(was.first_party),
            };
            spec.validate().map_err(ClientAdminError::Invalid)?;
            let method = spec.token_endpoint_auth_method;
            let (client_secret, secret_hash) = match (current.secret_hash, method) {
                (_, AuthMethod::None) => (None, None),
                (Some(hash), _) => (None, Some(hash)),
                (None, method) => new_secret(method),
            };
            let command = Command::from(UpdateClientCommand {
                command_id: Uuid::now_v7(),
                client_id: msg.client_id,
                spec,
                secret_hash,
            });
            let submission = submit::<ClientAdminError>(&commands, command, msg.origin).await?;
            Ok(ClientSubmission {
                submission,
                client_id: msg.client_id,
                client_secret,
            })
        })
    }
}

impl Handler<DeleteClient> for ClientAdmin {
    type Result = Reply;

    fn handle(&mut self, msg: DeleteClient, _: &mut Context<Self>) -> Reply {
        let (commands, clients) = (self.commands.clone(), self.clients.clone());
        Box::pin(async move {
            admin(&msg.principal)?;
            existing(&clients, msg.client_id).await?;
            let command = Command::from(DeleteClientCommand {
                command_id: Uuid::now_v7(),
                client_id: msg.client_id,
            });
            let submission = submit::<ClientAdminError>(&commands, command, msg.origin).await?;
            Ok(ClientSubmission {
                submission,
                client_id: msg.client_id,
                client_secret: None,
            })
        })
    }
}

impl Handler<RotateClientSecret> for ClientAdmin {
    type Result = Reply;

    fn handle(&mut self, msg: RotateClientSecret, _: &mut Context<Self>) -> Reply {
        let (commands, clients) = (self.commands.clone(), self.clients.clone());
        Box::pin(async move {
            admin(&msg.principal)?;
            let client = existing(&clients, msg.client_id).await?;
            let (Some(secret), Some(hash)) = new_secret(client.spec.token_endpoint_auth_method)
            else {
                return Err(ClientAdminError::Invalid(
                    crate::domain::FieldError::new(
                        "token_endpoint_auth_method",
                        "public_client",
                        "a public client has no secret",
                    )
                    .into(),
                ));
            };
            let command = Command::from(RotateClientSecretCommand {
                command_id: Uuid::now_v7(),
                client_id: msg.client_id,
                secret_hash: hash,
            });
            let submission = submit::<ClientAdminError>(&commands, command, msg.origin).await?;
            Ok(ClientSubmission {
                submission,
                client_id: msg.client_id,
                client_secret: Some(secret),
            })
        })
    }
}

::actors::instrument!(ClientAdmin: RegisterClient, UpdateClient, DeleteClient, RotateClientSecret);
