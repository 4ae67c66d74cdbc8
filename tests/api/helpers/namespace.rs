//! A test's own database and AMQP namespace on the shared PostgreSQL and RabbitMQ, removed when
//! the last app using it is gone; and the settings an app in it starts with.

use crate::support::{amqp, postgres};
use hexactor::config::Settings;
use hexactor::infrastructure::messaging::names::Names;
use lapin::{Connection, ConnectionProperties};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub fn postgres_base() -> String {
    std::env::var("TEST_DATABASE_BASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn rabbitmq_url() -> String {
    std::env::var("RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A namespace (database + AMQP prefix) that several app instances can share. When the last
/// clone is dropped, its queues, exchanges and database are deleted (set KEEP_TEST_RESOURCES=1
/// to keep them for a post-mortem): hundreds of leftover quorum queues slow a broker to a crawl.
#[derive(Clone)]
pub struct Namespace {
    pub database: String,
    pub prefix: String,
    _cleanup: Arc<Cleanup>,
}

struct Cleanup {
    database: String,
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_RESOURCES").is_some() {
            return;
        }
        let (database, prefix) = (self.database.clone(), self.prefix.clone());
        block_on_own_thread(Duration::from_secs(15), async move {
            remove_namespace(&database, &prefix).await
        });
    }
}

/// Drop cannot await: runs `work` to completion (or for at most `within`) on a short-lived
/// runtime on a thread of its own, and waits for it.
pub fn block_on_own_thread(within: Duration, work: impl Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let _ = tokio::time::timeout(within, work).await;
        });
    })
    .join();
}

/// The retry tiers every test app runs with (short: a retried command is retried within a test).
const RETRY_DELAYS_MS: &str = "100,200";

async fn remove_namespace(database: &str, prefix: &str) {
    let tiers: Vec<Duration> = RETRY_DELAYS_MS
        .split(',')
        .map(|ms| Duration::from_millis(ms.parse().unwrap()))
        .collect();
    let (queues, exchanges) = amqp::topology(&Names::new(prefix), &tiers);
    if let Ok(conn) = Connection::connect(&rabbitmq_url(), ConnectionProperties::default()).await {
        amqp::delete_all(&conn, queues, exchanges).await;
        let _ = conn.close(200, "cleanup".into()).await;
    }
    postgres::drop_database(&postgres_base(), database).await;
}

impl Namespace {
    pub async fn new() -> Self {
        let (database, prefix) = crate::support::fresh_namespace();
        postgres::create_database(&postgres_base(), &database).await;
        Self {
            _cleanup: Arc::new(Cleanup {
                database: database.clone(),
                prefix: prefix.clone(),
            }),
            database,
            prefix,
        }
    }

    /// The namespace's exchange and queue names, as the service builds them.
    pub fn names(&self) -> Names {
        Names::new(&self.prefix)
    }

    pub fn database_url(&self) -> String {
        format!("{}/{}", postgres_base(), self.database)
    }

    pub fn settings(&self, overrides: &[(&str, &str)]) -> Settings {
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), self.database_url()),
            ("RABBITMQ_URL".into(), rabbitmq_url()),
            ("AMQP_PREFIX".into(), self.prefix.clone()),
            ("BCRYPT_COST".into(), "4".into()),
            // Argon2id (the default) at 1 MiB and one pass: about a millisecond a hash, where
            // OWASP's 19 MiB and two passes cost tens of milliseconds; tests/api/credentials.rs
            // keeps one test at those defaults.
            ("ARGON2_MEMORY_KIB".into(), "1024".into()),
            ("ARGON2_ITERATIONS".into(), "1".into()),
            ("PORT".into(), "0".into()),
            ("WORKER_PORT".into(), "0".into()),
            ("OPS_PORT".into(), "0".into()),
            // Every test client is 127.0.0.1: the per-client rate limit is off unless a test
            // (tests/api/rate_limit.rs) turns it on.
            ("RATE_LIMIT_PER_MINUTE".into(), "0".into()),
            ("RETRY_DELAYS_MS".into(), RETRY_DELAYS_MS.into()),
            // Classic queues keep the broker light under a parallel suite; the messaging tests
            // opt into quorum queues, the production default.
            ("QUEUE_TYPE".into(), "classic".into()),
            ("MAX_ATTEMPTS".into(), "3".into()),
            ("DB_MAX_CONNECTIONS".into(), "10".into()),
            ("LOG_LEVEL".into(), "debug".into()),
            // Revocation is checked against the database on every request in tests, so that
            // "stops working at once" is observable without waiting out a cache.
            ("SESSION_CACHE_MS".into(), "0".into()),
        ]);
        for (k, v) in overrides {
            vars.insert((*k).into(), (*v).into());
        }
        Settings::from_lookup(|k| vars.get(k).cloned()).expect("valid test settings")
    }

    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.database_url())
            .await
            .expect("test pool")
    }
}
