//! Test harness: every test gets its own database and its own AMQP namespace (exchange/queue
//! prefix) on the real PostgreSQL and RabbitMQ, and the application in-process on port 0.

pub use crate::support::amqp::{consumer_count, publish_raw, queue_counts, queue_depth};
pub use crate::support::eventually;
use hexactor::config::Settings;
use hexactor::infrastructure::messaging::names::Names;
use hexactor::startup::{AmqpShutdown, Application, ProcessRole};
use lapin::options::BasicGetOptions;
use lapin::{Connection, ConnectionProperties};
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection, PgPool};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

pub fn postgres_base() -> String {
    std::env::var("TEST_DATABASE_BASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn rabbitmq_url() -> String {
    std::env::var("RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Everything the service logs during the test, at debug level, for the "no plaintext
/// password in the logs" check.
pub static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    let make_writer = move || CaptureWriter(writer.clone());
    let _ = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(make_writer)
        .try_init();
    buffer
});

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);
impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
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
fn block_on_own_thread(within: Duration, work: impl Future<Output = ()> + Send + 'static) {
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

async fn remove_namespace(database: &str, prefix: &str) {
    let names = Names::new(prefix);
    let tiers = [Duration::from_millis(100), Duration::from_millis(200)];
    let topology =
        hexactor::startup::topology(&names, &tiers, ::actors::rabbit::QueueKind::Classic, None);
    if let Ok(conn) = Connection::connect(&rabbitmq_url(), ConnectionProperties::default()).await {
        for queue in &topology.queues {
            // A fresh channel each time: deleting a queue that is gone closes the channel.
            if let Ok(channel) = conn.create_channel().await {
                let _ = channel
                    .queue_delete(queue.name.as_str().into(), Default::default())
                    .await;
            }
        }
        for exchange in &topology.exchanges {
            if let Ok(channel) = conn.create_channel().await {
                let _ = channel
                    .exchange_delete(exchange.name.as_str().into(), Default::default())
                    .await;
            }
        }
        let _ = conn.close(200, "cleanup".into()).await;
    }
    if let Ok(mut pg) = PgConnection::connect(&format!("{}/postgres", postgres_base())).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{database}" WITH (FORCE)"#
        )))
        .execute(&mut pg)
        .await;
    }
}

impl Namespace {
    pub async fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (database, prefix) = (
            format!("hexactor_test_{}", &id[..16]),
            format!("test_{}", &id[..16]),
        );
        let cleanup = Arc::new(Cleanup {
            database: database.clone(),
            prefix: prefix.clone(),
        });
        let ns = Self {
            database,
            prefix,
            _cleanup: cleanup,
        };
        let mut conn = PgConnection::connect(&format!("{}/postgres", postgres_base()))
            .await
            .expect("connect to postgres");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            r#"CREATE DATABASE "{}""#,
            ns.database
        )))
        .execute(&mut conn)
        .await
        .expect("create test database");
        ns
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
            ("PORT".into(), "0".into()),
            ("WORKER_PORT".into(), "0".into()),
            ("OPS_PORT".into(), "0".into()),
            // Every test client is 127.0.0.1: the per-client rate limit is off unless a test
            // (tests/api/rate_limit.rs) turns it on.
            ("RATE_LIMIT_PER_MINUTE".into(), "0".into()),
            ("RETRY_DELAYS_MS".into(), "100,200".into()),
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
    LazyLock::force(&LOGS);
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

pub struct Reply {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
    /// Asserts an RFC 9457 problem document with this status, and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(
            p["type"].is_string() && p["title"].is_string() && p["detail"].is_string(),
            "{p}"
        );
        p
    }
}

impl TestApp {
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.request_url(method, &format!("{}{}", self.address, path), headers, body)
            .await
    }

    pub async fn request_url(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, url);
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        }
        .expect("request sent");
        let body = res
            .body()
            .limit(10 * 1024 * 1024)
            .await
            .expect("body read")
            .to_vec();
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body,
        }
    }

    /// The one place that knows where metrics are served (the ops listener, not the public port).
    pub fn metrics_url(&self) -> String {
        format!("{}/metrics", self.ops_address)
    }

    /// The Prometheus text this process exposes right now.
    pub async fn metrics(&self) -> String {
        let mut res = self
            .client
            .get(self.metrics_url())
            .send()
            .await
            .expect("metrics scraped");
        assert_eq!(res.status().as_u16(), 200, "GET {}", self.metrics_url());
        let body = res.body().limit(10 * 1024 * 1024).await.expect("body");
        String::from_utf8(body.to_vec()).expect("UTF-8 metrics")
    }

    /// A GET on the ops listener.
    pub async fn get_ops(&self, path: &str) -> Reply {
        self.request_url("GET", &format!("{}{path}", self.ops_address), &[], None)
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.request("POST", path, &all, Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    pub async fn register(&self, body: &Value, headers: &[(&str, &str)]) -> Reply {
        self.post_json("/api/v1/users", body, headers).await
    }

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

    /// Logs in; returns the whole token response.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                &json!({ "email": email, "password": password }),
                &[],
            )
            .await;
        assert_eq!(
            res.status,
            200,
            "login failed: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.json()
    }

    /// Registers `user_body(n)` and logs in as that user; returns (user, access token).
    pub async fn user(&self, n: &str) -> (Value, String) {
        let body = user_body(n);
        let res = self.register(&body, &[]).await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        let tokens = self
            .login(
                body["email"].as_str().unwrap(),
                body["password"].as_str().unwrap(),
            )
            .await;
        (
            res.json(),
            tokens["access_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates an admin through the same code the `hexactor admin create` CLI runs; returns a token.
    pub async fn admin(&self) -> String {
        hexactor::infrastructure::postgres::bootstrap::create_admin(
            &self.pool,
            "root@example.com",
            "root_admin",
            ADMIN_PASSWORD.into(),
            4,
        )
        .await
        .expect("admin created");
        self.login("root@example.com", ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        let bearer = format!("Bearer {token}");
        self.request("GET", path, &[("authorization", &bearer)], None)
            .await
    }

    pub async fn send_as(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let bearer = format!("Bearer {token}");
        let mut all = vec![
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ];
        all.extend_from_slice(headers);
        self.request(
            method,
            path,
            &all,
            body.map(|b| serde_json::to_vec(b).unwrap()),
        )
        .await
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }
}

pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_PASSWORD: &str = "an admin's long passphrase 42";

pub fn user_body(n: &str) -> Value {
    crate::support::registration(&format!("user{n}"), &format!("user_{n}"))
}

pub async fn amqp() -> Connection {
    Connection::connect(&rabbitmq_url(), ConnectionProperties::default())
        .await
        .expect("AMQP connect")
}

/// Takes one message off a queue (acked), if there is one.
pub async fn take_message(
    conn: &Connection,
    queue: &str,
) -> Option<lapin::message::BasicGetMessage> {
    let channel = conn.create_channel().await.unwrap();
    channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get")
}
