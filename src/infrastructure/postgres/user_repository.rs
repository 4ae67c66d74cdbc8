//! The users repository actor: the query side (one user, pages of users) and, in workers, the
//! command side (`command_transaction`).

use super::{command_transaction, observed};
use crate::application::commands::CommandResult;
use crate::application::one_time_token::TokenPolicy;
use crate::application::ports::{ApplyCommand, GetUser, InfraError, ListUsers, UserPage};
use crate::domain::{Email, PersonName, Role, User, UserId, Username};
use crate::infrastructure::messaging::names::Names;
use crate::infrastructure::postgres::outbox_relay::{Kick, OutboxRelay};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub struct UserRepository {
    pool: PgPool,
    names: Names,
    relay: Option<::actors::ActorRef<OutboxRelay>>,
    tokens: TokenPolicy,
}

impl UserRepository {
    pub fn new(
        pool: PgPool,
        names: Names,
        relay: Option<::actors::ActorRef<OutboxRelay>>,
        tokens: TokenPolicy,
    ) -> Self {
        Self {
            pool,
            names,
            relay,
            tokens,
        }
    }
}

impl Actor for UserRepository {
    type Context = Context<Self>;
}

impl Supervised for UserRepository {}

type UserRow = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    bool,
    bool,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

const USER_COLUMNS: &str = "id, email, username, first_name, last_name, role, is_active, email_verified, created_at, updated_at, version";

/// Rows are parsed back through the domain's constructors: a corrupt row is an error, not a user.
fn user_from_row(row: UserRow) -> Result<User, InfraError> {
    let (
        id,
        email,
        username,
        first_name,
        last_name,
        role,
        is_active,
        email_verified,
        created_at,
        updated_at,
        version,
    ) = row;
    let corrupt = |what: &str| InfraError::msg(format!("corrupt user row {id}: {what}"));
    Ok(User {
        id: UserId::from_uuid(id),
        email: Email::parse(&email).map_err(|_| corrupt("email"))?,
        username: Username::parse(&username).map_err(|_| corrupt("username"))?,
        first_name: PersonName::parse("first_name", &first_name)
            .map_err(|_| corrupt("first_name"))?,
        last_name: PersonName::parse("last_name", &last_name).map_err(|_| corrupt("last_name"))?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
        is_active,
        email_verified,
        created_at,
        updated_at,
        version,
    })
}

impl Handler<GetUser> for UserRepository {
    type Result = ResponseFuture<Result<Option<User>, InfraError>>;

    fn handle(&mut self, msg: GetUser, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::query("get_user", "users", async move {
            let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
            )))
            .bind(msg.id.as_uuid())
            .fetch_optional(&pool)
            .await
            .map_err(|e| InfraError::new("reading a user", e))?;
            row.map(user_from_row).transpose()
        }))
    }
}

impl Handler<ListUsers> for UserRepository {
    type Result = ResponseFuture<Result<UserPage, InfraError>>;

    fn handle(&mut self, msg: ListUsers, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::query("list_users", "users", async move {
            // One row more than asked tells whether there is a next page.
            let fetch = i64::from(msg.limit) + 1;
            // starts_with rather than LIKE: the prefix is data, never a pattern.
            let prefix = msg
                .prefix
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty());
            let matching = "($1::text IS NULL OR starts_with(lower(email), $1) OR starts_with(lower(username), $1))";
            let rows: Vec<UserRow> = match msg.after {
                Some((created_at, id)) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE {matching} AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4"
                )))
                .bind(prefix)
                .bind(created_at)
                .bind(id)
                .bind(fetch),
                None => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE {matching} ORDER BY created_at, id LIMIT $2 OFFSET $3"
                )))
                .bind(prefix)
                .bind(fetch)
                .bind(msg.offset.unwrap_or(0) as i64),
            }
            .fetch_all(&pool)
            .await
            .map_err(|e| InfraError::new("listing users", e))?;
            let has_more = rows.len() as i64 == fetch;
            let users = rows
                .into_iter()
                .take(msg.limit as usize)
                .map(user_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(UserPage { users, has_more })
        }))
    }
}

impl Handler<ApplyCommand> for UserRepository {
    type Result = ResponseFuture<Result<CommandResult, InfraError>>;

    fn handle(&mut self, msg: ApplyCommand, _: &mut Context<Self>) -> Self::Result {
        let (pool, names, relay) = (self.pool.clone(), self.names.clone(), self.relay.clone());
        let tokens = self.tokens.clone();
        Box::pin(async move {
            let result = observed::timed(
                "transaction",
                "users",
                command_transaction::apply(&pool, &names, &tokens, msg.command),
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "applying a command failed");
                InfraError::new("applying a command", e)
            })?;
            // A new event may be waiting in the outbox: publish it now, not at the next poll.
            if matches!(result, CommandResult::Succeeded { .. })
                && let Some(relay) = relay
            {
                relay.tell(Kick);
            }
            Ok(result)
        })
    }
}

::actors::instrument!(UserRepository: GetUser, ListUsers, ApplyCommand);
