//! PostgreSQL: the pool, migrations, and the repository actors.
//!
//! Repository actors answer with `ResponseFuture`s, so one actor keeps many queries in flight;
//! a small pool of them spread over arbiters shares the decoding work. The connection pool is
//! the real concurrency limit.

pub mod auth_store;
pub mod bootstrap;
pub mod command_store;
pub mod command_transaction;
pub mod credentials;
pub mod email_change_commands;
pub mod event_log;
pub mod login_throttle;
pub mod mfa_commands;
pub mod mfa_store;
pub mod oauth2_clients;
pub mod oauth2_consents;
pub mod oauth2_grants;
pub mod observed;
pub mod one_time_tokens;
pub mod outbox_relay;
pub mod pool_monitor;
pub mod rate_limits;
pub mod recovery_commands;
pub mod refresh_tokens;
pub mod revocation_listener;
pub mod role_commands;
pub mod sessions;
pub mod user_commands;
pub mod user_repository;

use crate::application::commands::CommandResult;
use crate::application::one_time_token::TokenPolicy;
use crate::config::Settings;
use crate::domain::DomainEvent;
use crate::infrastructure::messaging::names::Names;
use outbox_relay::OutboxHeaders;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};
use std::pin::Pin;
use std::time::Duration;

/// What a command's statements decided: its result, and the event to record with it (if any).
/// Shared by the per-context command modules and the transaction frame that runs them.
type Applied = (CommandResult, Option<DomainEvent>);

/// The worker's statements for one command, inside the exactly-once frame of
/// `command_transaction`: the transaction, and what some statements need besides. Each command
/// module implements `Applies<ItsCommand>` for it (the `statements!` macro), and
/// `Command::apply_with` picks the one for the command at hand.
pub(crate) struct Statements<'a> {
    pub tx: &'a mut PgConnection,
    pub names: &'a Names,
    pub tokens: &'a TokenPolicy,
}

/// What applying one command's statements returns.
pub(crate) type Step<'a> = Pin<Box<dyn Future<Output = Result<Applied, sqlx::Error>> + Send + 'a>>;

/// `Payload => function` per command type: the function takes the transaction and the payload
/// (or, with `(statements)`, the whole [`Statements`]) and returns `Result<Applied, sqlx::Error>`.
macro_rules! statements {
    ($($payload:ty => $function:ident $(($with:ident))?;)+) => {$(
        impl<'a> $crate::application::commands::Applies<$payload>
            for $crate::infrastructure::postgres::Statements<'a>
        {
            type Output = $crate::infrastructure::postgres::Step<'a>;

            fn apply(self, command: $payload) -> Self::Output {
                Box::pin($function(statements!(@pass self $($with)?), command))
            }
        }
    )+};
    (@pass $statements:ident statements) => { $statements };
    (@pass $statements:ident) => { $statements.tx };
}
pub(crate) use statements;

/// Records `event` in the outbox, in the caller's transaction.
pub(crate) async fn record_event(
    tx: &mut PgConnection,
    names: &Names,
    event: &DomainEvent,
) -> Result<(), sqlx::Error> {
    // An event nobody subscribed to yet is not an error: not mandatory.
    let headers = OutboxHeaders {
        message_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        request_id: None,
        traceparent: None,
        reply_to: None,
        mandatory: false,
    };
    let payload = serde_json::to_vec(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let entry = event_log::public_entry(event)?;
    // A public event's feed copy goes in the same statement as its outbox row: one round trip.
    let sql = if entry.is_some() {
        event_log::WITH_OUTBOX
    } else {
        OUTBOX
    };
    let mut statement = sqlx::query(sql)
        .bind(event.event_id())
        .bind(&names.events_exchange)
        .bind(event.routing_key())
        .bind(payload)
        .bind(sqlx::types::Json(headers));
    if let Some(entry) = entry {
        statement = statement
            .bind(entry.public_type)
            .bind(entry.subject)
            .bind(entry.occurred_at)
            .bind(sqlx::types::Json(entry.data));
    }
    statement.execute(&mut *tx).await?;
    Ok(())
}

const OUTBOX: &str = "INSERT INTO outbox (message_id, exchange, routing_key, payload, headers)
     VALUES ($1, $2, $3, $4, $5)";

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(settings: &Settings) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(settings.database.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(settings.database.url.expose())
        .await
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// A unique-constraint violation's constraint name, if that is what `error` is.
pub(crate) fn unique_violation(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            Some(db.constraint().unwrap_or_default().to_owned())
        }
        _ => None,
    }
}
