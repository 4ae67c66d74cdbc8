//! PostgreSQL: where, and how many connections.

use super::{ConfigError, Env, Secret, err};
use crate::variables as var;

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    pub url: Secret,
    /// The pool size per process.
    pub max_connections: u32,
    /// How long the event log behind `GET /api/v1/events` keeps an event.
    pub event_retention_days: u32,
}

impl DatabaseSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let url = env.get(var::DATABASE_URL);
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(err(var::DATABASE_URL.name, "must be a postgres:// URL"));
        }
        check_tls(&url)?;
        Ok(Self {
            url: Secret::new(url),
            max_connections: env.num(var::DB_MAX_CONNECTIONS, 1, 500)?,
            event_retention_days: env.num(var::EVENT_RETENTION_DAYS, 1, 36_500)?,
        })
    }
}

/// `sslrootcert=` in `DATABASE_URL` must name a readable file: sqlx would only say so at the
/// first connection, after the pool's retries.
fn check_tls(url: &str) -> Result<(), ConfigError> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    for (key, value) in query.split('&').filter_map(|p| p.split_once('=')) {
        if key == "sslrootcert" && std::fs::metadata(value).is_err() {
            return Err(err(
                var::DATABASE_URL.name,
                format!("sslrootcert {value:?} is not a readable file"),
            ));
        }
        if key == "sslmode"
            && ![
                "disable",
                "allow",
                "prefer",
                "require",
                "verify-ca",
                "verify-full",
            ]
            .contains(&value)
        {
            return Err(err(
                var::DATABASE_URL.name,
                format!(
                    "unknown sslmode {value:?} (disable, prefer, require, verify-ca or verify-full)"
                ),
            ));
        }
    }
    Ok(())
}
