//! OAuth clients: the worker's statements for the client commands (inside
//! `command_transaction`'s frame) and the API's reads of them.

use super::auth_store::{AuthStore, infra};
use super::{Applied, observed, statements};
use crate::application::commands::{
    CommandResult, CommandSubject, DeleteClientCommand, RegisterClientCommand,
    RotateClientSecretCommand, UpdateClientCommand,
};
use crate::application::oauth2::model::{AuthMethod, Client, ClientSpec, GrantType};
use crate::application::oauth2::ports::{FindClient, ListClients, PublicClientOrigin};
use crate::application::ports::InfraError;
use crate::domain::{DomainEvent, UserError};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

statements! {
    RegisterClientCommand => register_client;
    UpdateClientCommand => update_client;
    DeleteClientCommand => delete_client;
    RotateClientSecretCommand => rotate_secret;
}

type ClientRow = (
    Uuid,
    String,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    String,
    Vec<String>,
    bool,
    Option<Vec<u8>>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// The columns of a [`ClientRow`], as a literal (queries are static strings).
macro_rules! columns {
    () => {
        "id, name, redirect_uris, post_logout_redirect_uris, grant_types,
         token_endpoint_auth_method, scopes, first_party, secret_hash, created_at, updated_at"
    };
}

fn client(row: ClientRow) -> Result<Client, InfraError> {
    let (
        id,
        name,
        redirect_uris,
        post_logout_redirect_uris,
        grants,
        method,
        scopes,
        first_party,
        secret_hash,
        created_at,
        updated_at,
    ) = row;
    let corrupt = || {
        InfraError::msg(format!(
            "oauth2 client {id}: an unknown grant type or method"
        ))
    };
    let grant_types = (grants.iter().map(|g| GrantType::parse(g)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(corrupt)?;
    Ok(Client {
        id,
        spec: ClientSpec {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            token_endpoint_auth_method: AuthMethod::parse(&method).ok_or_else(corrupt)?,
            scopes,
            first_party,
        },
        secret_hash,
        created_at,
        updated_at,
    })
}

fn grants(spec: &ClientSpec) -> Vec<&'static str> {
    spec.grant_types.iter().map(|g| g.as_str()).collect()
}

fn done(client_id: Uuid) -> CommandResult {
    CommandResult::Succeeded {
        subject: CommandSubject::OAuthClient(client_id),
    }
}

async fn register_client(
    tx: &mut PgConnection,
    c: RegisterClientCommand,
) -> Result<Applied, sqlx::Error> {
    let s = &c.spec;
    sqlx::query(
        "INSERT INTO oauth2_clients (id, name, redirect_uris, post_logout_redirect_uris, grant_types,
                token_endpoint_auth_method, scopes, first_party, secret_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.client_id)
    .bind(s.name.trim())
    .bind(&s.redirect_uris)
    .bind(&s.post_logout_redirect_uris)
    .bind(grants(s))
    .bind(s.token_endpoint_auth_method.as_str())
    .bind(&s.scopes)
    .bind(s.first_party)
    .bind(&c.secret_hash)
    .execute(&mut *tx)
    .await?;
    let event = DomainEvent::OAuthClientRegistered {
        event_id: Uuid::now_v7(),
        client_id: c.client_id,
        occurred_at: Utc::now(),
        name: s.name.trim().to_owned(),
    };
    Ok((done(c.client_id), Some(event)))
}

async fn update_client(
    tx: &mut PgConnection,
    c: UpdateClientCommand,
) -> Result<Applied, sqlx::Error> {
    let row: Option<ClientRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM oauth2_clients WHERE id = $1 FOR UPDATE"
    ))
    .bind(c.client_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(Ok(before)) = row.map(client) else {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    };
    let (old, new) = (&before.spec, &c.spec);
    let changed: Vec<String> = [
        ("name", old.name != new.name),
        ("redirect_uris", old.redirect_uris != new.redirect_uris),
        (
            "post_logout_redirect_uris",
            old.post_logout_redirect_uris != new.post_logout_redirect_uris,
        ),
        ("grant_types", old.grant_types != new.grant_types),
        (
            "token_endpoint_auth_method",
            old.token_endpoint_auth_method != new.token_endpoint_auth_method,
        ),
        ("scopes", old.scopes != new.scopes),
        ("first_party", old.first_party != new.first_party),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(f, _)| f.to_owned())
    .collect();
    if changed.is_empty() {
        return Ok((done(c.client_id), None));
    }
    sqlx::query(
        "UPDATE oauth2_clients SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4,
                grant_types = $5, token_endpoint_auth_method = $6, scopes = $7, first_party = $8,
                secret_hash = $9, updated_at = now()
         WHERE id = $1",
    )
    .bind(c.client_id)
    .bind(new.name.trim())
    .bind(&new.redirect_uris)
    .bind(&new.post_logout_redirect_uris)
    .bind(grants(new))
    .bind(new.token_endpoint_auth_method.as_str())
    .bind(&new.scopes)
    .bind(new.first_party)
    .bind(&c.secret_hash)
    .execute(&mut *tx)
    .await?;
    let event = DomainEvent::OAuthClientUpdated {
        event_id: Uuid::now_v7(),
        client_id: c.client_id,
        occurred_at: Utc::now(),
        changed,
    };
    Ok((done(c.client_id), Some(event)))
}

/// Its grants are revoked (their refresh tokens and, on the live endpoints, access tokens stop
/// working) and its codes and consents go with it.
async fn delete_client(
    tx: &mut PgConnection,
    c: DeleteClientCommand,
) -> Result<Applied, sqlx::Error> {
    sqlx::query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'oauth2_client_deleted'
         WHERE client_id = $1 AND revoked_at IS NULL",
    )
    .bind(c.client_id)
    .execute(&mut *tx)
    .await?;
    let deleted = sqlx::query("DELETE FROM oauth2_clients WHERE id = $1")
        .bind(c.client_id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    }
    let event = DomainEvent::OAuthClientDeleted {
        event_id: Uuid::now_v7(),
        client_id: c.client_id,
        occurred_at: Utc::now(),
    };
    Ok((done(c.client_id), Some(event)))
}

async fn rotate_secret(
    tx: &mut PgConnection,
    c: RotateClientSecretCommand,
) -> Result<Applied, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE oauth2_clients SET secret_hash = $2, updated_at = now()
         WHERE id = $1 AND secret_hash IS NOT NULL",
    )
    .bind(c.client_id)
    .bind(&c.secret_hash)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    }
    let event = DomainEvent::OAuthClientSecretRotated {
        event_id: Uuid::now_v7(),
        client_id: c.client_id,
        occurred_at: Utc::now(),
    };
    Ok((done(c.client_id), Some(event)))
}

impl Handler<FindClient> for AuthStore {
    type Result = ResponseFuture<Result<Option<Client>, InfraError>>;

    fn handle(&mut self, msg: FindClient, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "oauth2_clients", async move {
            let row: Option<ClientRow> = sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM oauth2_clients WHERE id = $1"
            ))
            .bind(msg.id)
            .fetch_optional(&pool)
            .await
            .map_err(infra("reading an OAuth client"))?;
            row.map(client).transpose()
        }))
    }
}

impl Handler<ListClients> for AuthStore {
    type Result = ResponseFuture<Result<Vec<Client>, InfraError>>;

    fn handle(&mut self, _: ListClients, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "oauth2_clients", async move {
            let rows: Vec<ClientRow> = sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM oauth2_clients ORDER BY created_at, id"
            ))
            .fetch_all(&pool)
            .await
            .map_err(infra("listing OAuth clients"))?;
            rows.into_iter().map(client).collect()
        }))
    }
}

impl Handler<PublicClientOrigin> for AuthStore {
    type Result = ResponseFuture<Result<bool, InfraError>>;

    fn handle(&mut self, msg: PublicClientOrigin, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "oauth2_clients", async move {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM oauth2_clients c, unnest(c.redirect_uris) u
                 WHERE c.token_endpoint_auth_method = 'none'
                   AND (u = $1 OR starts_with(u, $1 || '/') OR starts_with(u, $1 || '?')))",
            )
            .bind(msg.origin)
            .fetch_one(&pool)
            .await
            .map_err(infra("matching a public client's origin"))
        }))
    }
}
