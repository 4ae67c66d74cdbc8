//! Test harness: every test gets its own database and its own AMQP namespace (exchange/queue
//! prefix) on the real PostgreSQL and RabbitMQ, and the application in-process on port 0.
//!
//! `namespace.rs` creates and removes the namespace, `http.rs` talks to the app, `users.rs` makes
//! users and admins; `tests/support/logs.rs` captures what the service logs.

mod http;
mod namespace;
mod users;

pub use crate::support::amqp::{
    consumer_count, dead_letter_queue, delete_queue, publish_raw, queue_counts, queue_depth,
    take_message,
};
pub use crate::support::eventually;
pub use crate::support::logs::{capture_logs, captured_logs};
use hexactor::startup::{AmqpShutdown, Application, ProcessRole};
pub use http::Reply;
use lapin::Connection;
pub use namespace::block_on_own_thread;
pub use namespace::{Namespace, postgres_base, rabbitmq_url};
use serde_json::Value;
use sqlx::PgPool;
use std::time::Duration;
pub use users::{ADMIN_PASSWORD, PASSWORD, user_body, user_body_with};

pub struct TestApp {
    pub address: String,
    /// The ops listener (`/metrics`, `/debug/*`); see [`TestApp::metrics_url`].
    pub ops_address: String,
    pub pool: PgPool,
    pub client: awc::Client,
    /// Dropped before the namespace: the app's AMQP connection is closed for good before its
    /// queues are deleted, or a consumer cancelled by the deletion would declare them again.
    _amqp: CloseAmqpOnDrop,
    /// Keeps the namespace (and so its database and queues) alive as long as the app.
    _namespace: Namespace,
}

pub async fn spawn_app() -> TestApp {
    spawn_role(&Namespace::new().await, ProcessRole::All, &[]).await
}

pub async fn spawn_role(
    namespace: &Namespace,
    role: ProcessRole,
    overrides: &[(&str, &str)],
) -> TestApp {
    capture_logs();
    let app = Application::build(namespace.settings(overrides), role)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let ops_address = format!("http://127.0.0.1:{}", app.ops_port());
    let amqp = CloseAmqpOnDrop(app.amqp_shutdown());
    actix_web::rt::spawn(app.into_server());
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let test_app = TestApp {
        address,
        ops_address,
        pool: namespace.pool().await,
        client,
        _amqp: amqp,
        _namespace: namespace.clone(),
    };
    test_app.wait_until_ready().await;
    test_app
}

struct CloseAmqpOnDrop(AmqpShutdown);

impl Drop for CloseAmqpOnDrop {
    fn drop(&mut self) {
        let shutdown = self.0.clone();
        // The connection manager runs on the app's AMQP arbiter, not on this thread.
        block_on_own_thread(
            Duration::from_secs(10),
            async move { shutdown.close().await },
        );
    }
}

impl TestApp {
    /// What a shutting-down process does last: close its AMQP connection for good.
    pub async fn close_amqp(&self) {
        self._amqp.0.close().await;
    }

    async fn wait_until_ready(&self) {
        eventually("the app is ready", Duration::from_secs(20), async || {
            self.get("/ready").await.status == 200
        })
        .await;
    }

    /// Polls a command until it leaves `pending`; returns its JSON.
    pub async fn wait_for_command(&self, location: &str) -> Value {
        let mut last = Value::Null;
        eventually(
            "the command completes",
            Duration::from_secs(30),
            async || {
                last = self.get(location).await.json();
                last["status"] != "pending"
            },
        )
        .await;
        last
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }
}

/// A connection to the shared broker.
pub async fn amqp() -> Connection {
    crate::support::amqp::connect(&rabbitmq_url()).await
}

/// A file in the temporary directory, removed on drop (even when the test fails).
pub struct TempFile(pub std::path::PathBuf);

impl TempFile {
    pub fn with(contents: &str) -> Self {
        let name = format!("hexactor-test-{}.txt", uuid::Uuid::new_v4());
        let file = Self(std::env::temp_dir().join(name));
        std::fs::write(&file.0, contents).expect("a temporary file");
        file
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
