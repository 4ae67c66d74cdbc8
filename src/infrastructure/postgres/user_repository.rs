//! The users repository: reads users (the query side) and applies registrations exactly once
//! (the command side's transaction: user + command outcome + `UserCreated` in the outbox).

use super::unique_violation;
use crate::application::commands::{CommandResult, CommandStatus, user_location};
use crate::application::ports::{ApplyRegistration, GetUser, InfraError};
use crate::domain::{DomainEvent, Email, PersonName, Role, User, UserError, UserId, Username};
use crate::infrastructure::messaging::names::Names;
use crate::infrastructure::outbox_relay::{Kick, OutboxHeaders, OutboxRelay};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub struct UserRepository {
    pool: PgPool,
    names: Names,
    relay: Option<::actors::ActorRef<OutboxRelay>>,
}

impl UserRepository {
    pub fn new(pool: PgPool, names: Names, relay: Option<::actors::ActorRef<OutboxRelay>>) -> Self {
        Self { pool, names, relay }
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
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

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
        created_at,
        updated_at,
        version,
    ) = row;
    let corrupt = |what: &str| InfraError(format!("corrupt user row {id}: {what}"));
    Ok(User {
        id: UserId::from_uuid(id),
        email: Email::parse(&email).map_err(|_| corrupt("email"))?,
        username: Username::parse(&username).map_err(|_| corrupt("username"))?,
        first_name: PersonName::parse("first_name", &first_name)
            .map_err(|_| corrupt("first_name"))?,
        last_name: PersonName::parse("last_name", &last_name).map_err(|_| corrupt("last_name"))?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
        is_active,
        created_at,
        updated_at,
        version,
    })
}

const SELECT_USER: &str = "SELECT id, email, username, first_name, last_name, role, is_active, created_at, updated_at, version
     FROM users WHERE id = $1";

async fn apply_registration(
    pool: PgPool,
    names: Names,
    msg: ApplyRegistration,
) -> Result<CommandResult, sqlx::Error> {
    let c = msg.command;
    let mut tx = pool.begin().await?;
    // The command row is the idempotency record; a command injected without one gets one.
    sqlx::query(
        "INSERT INTO commands (id, type) VALUES ($1, 'RegisterUser') ON CONFLICT (id) DO NOTHING",
    )
    .bind(c.command_id)
    .execute(&mut *tx)
    .await?;
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM commands WHERE id = $1 FOR UPDATE")
            .bind(c.command_id)
            .fetch_one(&mut *tx)
            .await?;
    if let Some(done) = CommandStatus::parse(&status).filter(|s| s.is_terminal()) {
        tx.rollback().await?;
        return Ok(CommandResult::AlreadyApplied(done));
    }

    sqlx::query("SAVEPOINT insert_user")
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, username, first_name, last_name, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING created_at",
    )
    .bind(c.user_id.as_uuid())
    .bind(c.details.email.as_str())
    .bind(c.details.username.as_str())
    .bind(c.details.first_name.as_str())
    .bind(c.details.last_name.as_str())
    .bind(c.password_hash.as_str())
    .fetch_one(&mut *tx)
    .await;

    let result = match inserted {
        Ok(row) => {
            use sqlx::Row as _;
            let created_at: DateTime<Utc> = row.try_get("created_at")?;
            let event = DomainEvent::UserCreated {
                event_id: Uuid::now_v7(),
                user_id: c.user_id,
                email: c.details.email.as_str().to_owned(),
                username: c.details.username.as_str().to_owned(),
                occurred_at: created_at,
            };
            let headers = OutboxHeaders {
                message_type: event.event_type().to_owned(),
                request_id: None,
                reply_to: None,
                // An event nobody subscribed to yet is not an error.
                mandatory: false,
            };
            sqlx::query(
                "INSERT INTO outbox (message_id, exchange, routing_key, payload, headers) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(event.event_id())
            .bind(&names.events_exchange)
            .bind(event.routing_key())
            .bind(serde_json::to_vec(&event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?)
            .bind(sqlx::types::Json(headers))
            .execute(&mut *tx)
            .await?;
            CommandResult::Succeeded {
                location: user_location(c.user_id),
            }
        }
        Err(error) => match unique_violation(&error).as_deref() {
            Some("users_email_key") => CommandResult::Rejected(UserError::EmailTaken),
            Some("users_username_lower_key") => CommandResult::Rejected(UserError::UsernameTaken),
            _ => return Err(error),
        },
    };
    if let CommandResult::Rejected(_) = result {
        sqlx::query("ROLLBACK TO SAVEPOINT insert_user")
            .execute(&mut *tx)
            .await?;
    }
    let (status, code, detail, location) = match &result {
        CommandResult::Succeeded { location } => ("succeeded", None, None, Some(location.clone())),
        CommandResult::Rejected(e) => ("failed", Some(e.code()), Some(e.to_string()), None),
        CommandResult::AlreadyApplied(_) => unreachable!("handled above"),
    };
    sqlx::query(
        "UPDATE commands SET status = $2, error_code = $3, error_detail = $4, location = $5, completed_at = now()
         WHERE id = $1",
    )
    .bind(c.command_id)
    .bind(status)
    .bind(code)
    .bind(detail)
    .bind(location)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(result)
}

impl Handler<GetUser> for UserRepository {
    type Result = ResponseFuture<Result<Option<User>, InfraError>>;

    fn handle(&mut self, msg: GetUser, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let row: Option<UserRow> = sqlx::query_as(SELECT_USER)
                .bind(msg.id.as_uuid())
                .fetch_optional(&pool)
                .await
                .map_err(|e| InfraError::new("reading a user", e))?;
            row.map(user_from_row).transpose()
        })
    }
}

impl Handler<ApplyRegistration> for UserRepository {
    type Result = ResponseFuture<Result<CommandResult, InfraError>>;

    fn handle(&mut self, msg: ApplyRegistration, _: &mut Context<Self>) -> Self::Result {
        let (pool, names, relay) = (self.pool.clone(), self.names.clone(), self.relay.clone());
        Box::pin(async move {
            let result = apply_registration(pool, names, msg).await.map_err(|e| {
                tracing::warn!(error = %e, "applying a registration failed");
                InfraError::new("applying a registration", e)
            })?;
            if matches!(result, CommandResult::Succeeded { .. })
                && let Some(relay) = relay
            {
                relay.tell(Kick);
            }
            Ok(result)
        })
    }
}

::actors::instrument!(UserRepository: GetUser, ApplyRegistration);
