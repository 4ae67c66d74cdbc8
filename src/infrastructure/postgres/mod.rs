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
pub mod login_throttle;
pub mod mfa_commands;
pub mod mfa_store;
pub mod observed;
pub mod one_time_tokens;
pub mod outbox_relay;
pub mod pool_monitor;
pub mod recovery_commands;
pub mod refresh_tokens;
pub mod revocation_listener;
pub mod role_commands;
pub mod sessions;
pub mod user_commands;
pub mod user_repository;

use crate::application::commands::CommandResult;
use crate::config::Settings;
use crate::domain::DomainEvent;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

/// What a command's statements decided: its result, and the event to record with it (if any).
/// Shared by the per-context command modules and the transaction frame that runs them.
type Applied = (CommandResult, Option<DomainEvent>);

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
