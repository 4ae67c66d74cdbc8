//! The chaos harness: a namespace (database + AMQP prefix) of its own, the real `hexactor` binary
//! as 2 API and 3 worker processes, a load driver, fault injection with guards that restore the
//! services even when a test fails, and the checks every scenario ends with.
//!
//! Synchronisation is always "poll until a condition holds, with a deadline"; the only plain
//! sleeps are the *durations of faults* (how long the broker or the database stays away) and the
//! back-off between polls.

pub use crate::support::amqp::{consumer_count, publish_raw, queue_depth};
pub use crate::support::eventually;
use futures_util::StreamExt;
use hexactor::infrastructure::messaging::names::Names;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicQosOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection, PgPool};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const BIN: &str = env!("CARGO_BIN_EXE_hexactor");
pub const RETRY_DELAYS_MS: &str = "200,1000,3000";
/// Generous: a command must never be dead-lettered because of an outage the test caused.
pub const MAX_ATTEMPTS: &str = "10";
pub const SHUTDOWN_SECONDS: u64 = 5;
pub const EVENT_KEY: &str = "users.user.created";

pub use crate::services::database_base as postgres_base;

pub fn commands() -> usize {
    std::env::var("CHAOS_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

pub fn rounds() -> usize {
    std::env::var("CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n >= 1)
        .unwrap_or(1)
}

fn retry_tiers() -> Vec<Duration> {
    RETRY_DELAYS_MS
        .split(',')
        .map(|ms| Duration::from_millis(ms.parse().unwrap()))
        .collect()
}

pub async fn sleep(d: Duration) {
    actix_web::rt::time::sleep(d).await;
}

/// Runs a command line to completion (blocking); returns (success, stdout+stderr).
pub fn run_blocking(program: &str, args: &[String]) -> (bool, String) {
    // `timeout` bounds a CLI that hangs (rabbitmqctl against a node in a bad state).
    let output = Command::new("timeout")
        .arg("180")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

// ------------------------------------------------------------------------------------ guards

/// While alive, the test database refuses connections; dropping it allows them again.
pub struct DatabaseLockout {
    database: String,
}

fn psql_blocking(sql: &str) -> (bool, String) {
    run_blocking(
        "psql",
        &[
            format!("{}/postgres", postgres_base()),
            "-qtAX".into(),
            "-c".into(),
            sql.into(),
        ],
    )
}

impl DatabaseLockout {
    pub async fn start(database: &str) -> Self {
        let guard = Self {
            database: database.to_owned(),
        };
        // Two statements, each committed on its own: once the ALTER is committed no new
        // connection gets in, so terminating the backends afterwards leaves none alive (in one
        // transaction, a client reconnecting between the terminate and the commit would survive).
        let refuse = format!(r#"ALTER DATABASE "{database}" ALLOW_CONNECTIONS false"#);
        let terminate = format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{database}'"
        );
        for sql in [refuse, terminate] {
            let (ok, out) = actix_web::rt::task::spawn_blocking(move || psql_blocking(&sql))
                .await
                .unwrap();
            assert!(ok, "could not lock the database out: {out}");
        }
        guard
    }
}

impl Drop for DatabaseLockout {
    fn drop(&mut self) {
        let (ok, out) = psql_blocking(&format!(
            r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS true"#,
            self.database
        ));
        if !ok {
            eprintln!("could not re-allow connections to {}: {out}", self.database);
        }
    }
}

// ------------------------------------------------------------------------------- processes

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcRole {
    Api,
    Worker,
}

/// One `hexactor` process. Dropping it kills it (SIGKILL, by PID) and reaps it.
pub struct Proc {
    pub name: String,
    pub port: u16,
    pub log: PathBuf,
    child: Child,
    exited: Option<ExitStatus>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    pub fn sigterm(&self) {
        self.signal("TERM");
    }

    pub fn sigkill(&mut self) {
        self.signal("KILL");
    }

    /// Waits (polling) for the process to exit; None if it is still running after `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited {
                return Some(status);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The port a process logged in its "listening" line (LOG_FORMAT=json).
fn listening_port(log: &PathBuf) -> Option<u16> {
    let file = File::open(log).ok()?;
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let v: Value = serde_json::from_str(&line).ok()?;
            (v["message"] == "listening")
                .then(|| v["port"].as_u64())??
                .try_into()
                .ok()
        })
}

// ----------------------------------------------------------------------------------- cluster

pub struct Cluster {
    pub scenario: String,
    pub database: String,
    pub prefix: String,
    pub names: Names,
    pub dir: PathBuf,
    pub apis: Vec<Proc>,
    pub workers: Vec<Proc>,
    pub http: awc::Client,
    pub pool: PgPool,
    pub events_queue: String,
    next_proc: usize,
    started: Instant,
}

impl Cluster {
    /// A fresh namespace, the event-observing test queue, 2 APIs and 3 workers, all ready.
    pub async fn start(scenario: &str) -> Self {
        actix_web::rt::task::spawn_blocking(crate::services::restore_all_nodes_blocking)
            .await
            .unwrap();
        let id = Uuid::new_v4().simple().to_string();
        let database = format!("hexactor_test_{}", &id[..16]);
        let prefix = format!("test_{}", &id[..16]);
        let mut conn = PgConnection::connect(&format!("{}/postgres", postgres_base()))
            .await
            .expect("connect to postgres");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            r#"CREATE DATABASE "{database}""#
        )))
        .execute(&mut conn)
        .await
        .expect("create the test database");
        let dir = std::env::temp_dir().join(format!("hexactor-chaos-{scenario}-{}", &id[..8]));
        std::fs::create_dir_all(&dir).unwrap();
        let names = Names::new(&prefix);
        let events_queue = format!("{prefix}.chaos.observed-events");
        let mut cluster = Self {
            scenario: scenario.to_owned(),
            pool: PgPool::connect_lazy(&format!("{}/{database}", postgres_base())).unwrap(),
            database,
            prefix,
            names,
            dir,
            apis: Vec::new(),
            workers: Vec::new(),
            http: awc::Client::builder()
                .timeout(Duration::from_secs(15))
                .finish(),
            events_queue,
            next_proc: 0,
            started: Instant::now(),
        };
        cluster.declare_event_observer().await;
        // The first process applies the migrations; the others start in parallel after it.
        let first = cluster.spawn(ProcRole::Api);
        cluster.apis.push(first);
        cluster.wait_ready_all().await;
        for role in [
            ProcRole::Api,
            ProcRole::Worker,
            ProcRole::Worker,
            ProcRole::Worker,
        ] {
            let p = cluster.spawn(role);
            match role {
                ProcRole::Api => cluster.apis.push(p),
                ProcRole::Worker => cluster.workers.push(p),
            }
        }
        cluster.wait_ready_all().await;
        eprintln!(
            "chaos[{scenario}]: namespace {} (database {}), logs in {}",
            cluster.prefix,
            cluster.database,
            cluster.dir.display()
        );
        cluster.started = Instant::now();
        cluster
    }

    /// A queue of the test's own, bound to the event exchange BEFORE any load, so that it sees
    /// every `UserCreated` that is ever published.
    async fn declare_event_observer(&self) {
        let conn = amqp().await;
        let channel = conn.create_channel().await.unwrap();
        channel
            .exchange_declare(
                self.names.events_exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from("quorum".as_bytes().to_vec())),
        );
        channel
            .queue_declare(
                self.events_queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                args,
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                self.events_queue.as_str().into(),
                self.names.events_exchange.as_str().into(),
                EVENT_KEY.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let _ = conn.close(200, "done".into()).await;
    }

    pub fn spawn(&mut self, role: ProcRole) -> Proc {
        self.next_proc += 1;
        let name = format!(
            "{}-{}",
            match role {
                ProcRole::Api => "api",
                ProcRole::Worker => "worker",
            },
            self.next_proc
        );
        let log = self.dir.join(format!("{name}.log"));
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(BIN)
            .arg(match role {
                ProcRole::Api => "serve",
                ProcRole::Worker => "worker",
            })
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The marker scripts/chaos-services.sh finds leftover processes by, should this test
            // process be killed before it could reap them.
            .env(
                "CHAOS_SERVICES_DIR",
                std::env::var("CHAOS_SERVICES_DIR").unwrap_or_default(),
            )
            .env(
                "DATABASE_URL",
                format!("{}/{}", postgres_base(), self.database),
            )
            .env("RABBITMQ_URL", crate::services::rabbitmq_urls())
            .env("AMQP_PREFIX", &self.prefix)
            .env("BCRYPT_COST", "4")
            .env("LOG_FORMAT", "json")
            .env("LOG_LEVEL", "info")
            .env("PORT", "0")
            .env("WORKER_PORT", "0")
            .env("RETRY_DELAYS_MS", RETRY_DELAYS_MS)
            .env("MAX_ATTEMPTS", MAX_ATTEMPTS)
            .env("WORKER_PREFETCH", "20")
            .env("DB_MAX_CONNECTIONS", "8")
            .env("SHUTDOWN_TIMEOUT_SECONDS", SHUTDOWN_SECONDS.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn hexactor");
        Proc {
            name,
            port: 0,
            log,
            child,
            exited: None,
        }
    }

    pub async fn spawn_worker(&mut self) {
        let p = self.spawn(ProcRole::Worker);
        self.workers.push(p);
        self.wait_ready_all().await;
    }

    pub async fn spawn_api(&mut self) {
        let p = self.spawn(ProcRole::Api);
        self.apis.push(p);
        self.wait_ready_all().await;
    }

    /// Learns every process's port from its log, then waits until all are fully ready.
    pub async fn wait_ready_all(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = self.http.clone();
        for p in self.apis.iter_mut().chain(self.workers.iter_mut()) {
            if p.exited.is_some() {
                continue;
            }
            while p.port == 0 {
                if let Some(port) = listening_port(&p.log) {
                    p.port = port;
                    break;
                }
                if let Ok(Some(status)) = p.child.try_wait() {
                    panic!("{} exited with {status}:\n{}", p.name, p.log_text());
                }
                assert!(
                    Instant::now() < deadline,
                    "{} never listened:\n{}",
                    p.name,
                    p.log_text()
                );
                sleep(Duration::from_millis(50)).await;
            }
            loop {
                let ready = get_json(&http, &p.url("/ready")).await;
                if matches!(&ready, Some((200, v)) if v["checks"]["rabbitmq"] == "ok" && v["checks"]["postgres"] == "ok")
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} never became ready ({ready:?}):\n{}",
                    p.name,
                    p.log_text()
                );
                sleep(Duration::from_millis(100)).await;
            }
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// One of the process's metrics: the sum over the series whose labels contain every one of
    /// `selectors` (e.g. `queue="x"`), None if there is none.
    pub async fn metric(&self, proc: &Proc, name: &str, selectors: &[&str]) -> Option<f64> {
        metric(&self.http, proc, name, selectors).await
    }

    pub async fn ready(&self, proc: &Proc) -> Option<(u16, Value)> {
        get_json(&self.http, &proc.url("/ready")).await
    }

    /// One registration through `api`, no retries: it must be accepted (202) at once.
    pub async fn register_one(&self, api: usize) -> Uuid {
        let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
        let mut res = self
            .http
            .post(self.apis[api].url("/api/v1/users"))
            .insert_header(("content-type", "application/json"))
            .insert_header(("prefer", "respond-async"))
            .send_body(serde_json::to_vec(&user_body(&run, 0)).unwrap())
            .await
            .expect("the API answers");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(res.status().as_u16(), 202, "{body}");
        Uuid::parse_str(body["command_id"].as_str().unwrap()).unwrap()
    }

    /// One registration through `api` with an Idempotency-Key, no retries: (status, body).
    pub async fn register_with_key(&self, api: usize, key: &str, body: &Value) -> (u16, Value) {
        let mut res = self
            .http
            .post(self.apis[api].url("/api/v1/users"))
            .insert_header(("content-type", "application/json"))
            .insert_header(("prefer", "respond-async"))
            .insert_header(("idempotency-key", key))
            .send_body(serde_json::to_vec(body).unwrap())
            .await
            .expect("the API answers");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        (res.status().as_u16(), body)
    }

    pub fn start_load(&self, commands: usize) -> Load {
        Load::start(
            self.http.clone(),
            self.apis.iter().map(|p| p.url("")).collect(),
            commands,
        )
    }

    /// Commands that workers received again after a broker redelivery (their first holder died
    /// or lost its connection before acking), from every worker's log, dead ones included.
    pub fn redelivered_commands(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("worker-"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|log| {
                log.lines()
                    .filter(|l| {
                        l.contains("\"command applied\"") && l.contains("\"redelivered\":true")
                    })
                    .count()
            })
            .sum()
    }

    /// Removes what the scenario created (database, queues) once it passed.
    pub async fn cleanup(mut self) {
        let mut procs: Vec<Proc> = self.apis.drain(..).chain(self.workers.drain(..)).collect();
        for p in &procs {
            if p.exited.is_none() {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(p.pid().to_string())
                    .status();
            }
        }
        for p in &mut procs {
            p.wait_exit(Duration::from_secs(10)).await;
        }
        drop(procs);
        self.pool.close().await;
        if let Ok(mut conn) = PgConnection::connect(&format!("{}/postgres", postgres_base())).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
                self.database
            )))
            .execute(&mut conn)
            .await;
        }
        let conn = amqp().await;
        let mut queues = vec![self.events_queue.clone()];
        let topology =
            self.names
                .topology(&retry_tiers(), ::actors::rabbit::QueueKind::Quorum, None);
        queues.extend(topology.queues.iter().map(|q| q.name.clone()));
        for q in queues {
            let channel = conn.create_channel().await.unwrap();
            let _ = channel
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        let _ = conn.close(200, "done".into()).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// Every check that ends a scenario; prints and returns the summary.
    pub async fn verify(&mut self, load: LoadResult, poison: &[String]) -> Summary {
        let accepted = load.accepted.clone();
        let ids: Vec<Uuid> = accepted.clone();
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "two registrations were given the same command id"
        );
        assert_eq!(
            load.gave_up, 0,
            "{} registrations were never accepted",
            load.gave_up
        );
        let within = Duration::from_secs(90 + ids.len() as u64 / 20);

        // 1. Every accepted command reaches a terminal state.
        let pool = self.pool.clone();
        let mut pending = i64::MAX;
        let wait = Instant::now();
        while wait.elapsed() < within {
            if let Ok(n) = sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM unnest($1::uuid[]) AS a(id)
                 LEFT JOIN commands c ON c.id = a.id WHERE c.status IS NULL OR c.status = 'pending'",
            )
            .bind(&ids)
            .fetch_one(&pool)
            .await
            {
                pending = n;
                if n == 0 {
                    break;
                }
            }
            sleep(Duration::from_millis(500)).await;
        }
        let (succeeded, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed')
             FROM commands WHERE id = ANY($1)",
        )
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .unwrap();
        let completed = succeeded + failed;

        // 2. Users = succeeded commands, no duplicates, each succeeded command's user exists.
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
        let duplicate_emails: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT email FROM users GROUP BY email HAVING count(*) > 1) d",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let succeeded_without_user: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM commands c WHERE c.id = ANY($1) AND c.status = 'succeeded'
             AND NOT EXISTS (SELECT 1 FROM users u WHERE '/api/v1/users/' || u.id = c.location)",
        )
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .unwrap();
        let user_ids: HashSet<Uuid> = sqlx::query_scalar("SELECT id FROM users")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();

        // 3. The outbox drains; exactly one distinct UserCreated per user reaches the observer.
        eventually("the outbox is drained", within, async || {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&pool)
                .await
                .is_ok_and(|n| n == 0)
        })
        .await;
        let events = drain_events(&self.events_queue, user_ids.len(), within).await;
        let mut phantom_events = 0;
        let mut users_with_two_events = 0;
        for (user, event_ids) in &events.by_user {
            if !user_ids.contains(user) {
                phantom_events += 1;
            }
            if event_ids.len() > 1 {
                users_with_two_events += 1;
            }
        }
        let users_without_event = user_ids
            .iter()
            .filter(|u| !events.by_user.contains_key(u))
            .count();

        // 4. The notifications context welcomed every user exactly once.
        let mut welcomes = (0i64, 0i64);
        let _ = tokio::time::timeout(within, async {
            loop {
                if let Ok(w) = sqlx::query_as::<_, (i64, i64)>(
                    "SELECT count(*), count(DISTINCT user_id) FROM notifications WHERE kind = 'welcome'",
                )
                .fetch_one(&pool)
                .await
                {
                    welcomes = w;
                    if w.0 >= users {
                        return;
                    }
                }
                sleep(Duration::from_millis(500)).await;
            }
        })
        .await;

        // 5. Nothing left unacked: stop the workers gracefully, then every work and retry queue
        //    is empty (an unacked message would be back to ready once its consumer is gone).
        let queues = self
            .names
            .topology(&retry_tiers(), ::actors::rabbit::QueueKind::Quorum, None);
        let work: Vec<String> = queues
            .queues
            .iter()
            .map(|q| q.name.clone())
            .filter(|n| !n.ends_with(".dlq"))
            .collect();
        let conn = amqp().await;
        eventually("the work and retry queues are empty", within, async || {
            for q in &work {
                if queue_depth(&conn, q).await.unwrap_or(u32::MAX) != 0 {
                    return false;
                }
            }
            true
        })
        .await;
        for w in &self.workers {
            if w.exited.is_none() {
                w.sigterm();
            }
        }
        for w in &mut self.workers {
            let status = w
                .wait_exit(Duration::from_secs(SHUTDOWN_SECONDS + 10))
                .await;
            assert!(status.is_some(), "{} did not exit after SIGTERM", w.name);
        }
        let mut left = Vec::new();
        for q in &work {
            let depth = queue_depth(&conn, q).await.unwrap_or(u32::MAX);
            if depth != 0 {
                left.push(format!("{q}={depth}"));
            }
        }

        // 6. The DLQ holds exactly the injected poison messages.
        let dlq_name = format!("{}.dlq", self.names.command_queue);
        let mut dead: Vec<String> = Vec::new();
        let channel = conn.create_channel().await.unwrap();
        while let Ok(Some(msg)) = channel
            .basic_get(dlq_name.as_str().into(), BasicGetOptions { no_ack: true })
            .await
        {
            dead.push(
                msg.delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| {
                        format!("<no id: {}>", String::from_utf8_lossy(&msg.delivery.data))
                    }),
            );
        }
        let notifications_dlq = format!("{}.dlq", self.names.notifications_queue);
        let notifications_dead = queue_depth(&conn, &notifications_dlq).await.unwrap_or(0);
        let _ = conn.close(200, "done".into()).await;

        let lost =
            (ids.len() as i64 - completed) + succeeded_without_user + users_without_event as i64;
        let duplicated = duplicate_emails
            + users_with_two_events as i64
            + phantom_events as i64
            + (welcomes.0 - welcomes.1);
        let summary = Summary {
            line: format!(
                "chaos[{}]: accepted={} completed={} succeeded={} failed={} lost={} duplicated={} \
                 dead_lettered={} redelivered_commands={} redelivered_events={} http_retries={} \
                 elapsed={:.1}s",
                self.scenario,
                ids.len(),
                completed,
                succeeded,
                failed,
                lost,
                duplicated,
                dead.len(),
                self.redelivered_commands(),
                events.same_event_again,
                load.http_retries,
                self.elapsed().as_secs_f64()
            ),
        };
        println!("{}", summary.line);

        assert_eq!(
            pending, 0,
            "{pending} accepted commands never reached a terminal state"
        );
        assert_eq!(
            completed,
            ids.len() as i64,
            "accepted commands missing from the command log"
        );
        assert_eq!(failed, 0, "every registration is unique, none may fail");
        assert_eq!(
            users, succeeded,
            "users in the database != succeeded commands"
        );
        assert_eq!(duplicate_emails, 0, "duplicate users");
        assert_eq!(
            succeeded_without_user, 0,
            "succeeded commands without their user"
        );
        assert_eq!(
            users_without_event, 0,
            "users whose UserCreated never arrived"
        );
        assert_eq!(
            users_with_two_events, 0,
            "users with more than one distinct UserCreated"
        );
        assert_eq!(
            phantom_events, 0,
            "UserCreated events for users that do not exist"
        );
        assert!(
            left.is_empty(),
            "messages left in work/retry queues after the workers stopped: {left:?}"
        );
        let mut dead_sorted = dead.clone();
        dead_sorted.sort();
        let mut expected: Vec<String> = poison.to_vec();
        expected.sort();
        assert_eq!(
            dead_sorted, expected,
            "the DLQ must hold exactly the injected poison messages"
        );
        assert_eq!(
            welcomes,
            (users, users),
            "welcome notifications (rows, distinct users) != users"
        );
        assert_eq!(notifications_dead, 0, "notifications were dead-lettered");
        summary
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "chaos[{}]: FAILED; process logs kept in {}",
                self.scenario,
                self.dir.display()
            );
        }
    }
}

pub struct Summary {
    pub line: String,
}

// ------------------------------------------------------------------------------------- load

#[derive(Default)]
pub struct LoadResult {
    pub accepted: Vec<Uuid>,
    pub gave_up: usize,
    pub http_retries: usize,
}

impl LoadResult {
    pub fn merge(&mut self, other: LoadResult) {
        self.accepted.extend(other.accepted);
        self.gave_up += other.gave_up;
        self.http_retries += other.http_retries;
    }
}

#[derive(Default)]
struct LoadState {
    accepted: RefCell<Vec<Uuid>>,
    gave_up: Cell<usize>,
    http_retries: Cell<usize>,
    started_at: Cell<Option<Instant>>,
}

/// `commands` registrations, 24 in flight, spread over the APIs. Each has an Idempotency-Key and
/// is retried (on 5xx and transport errors) until accepted: exactly the registrations the
/// service accepted are in `accepted`, no more and no fewer.
pub struct Load {
    state: Rc<LoadState>,
    handle: actix_web::rt::task::JoinHandle<()>,
    pub total: usize,
}

impl Load {
    fn start(http: awc::Client, apis: Vec<String>, commands: usize) -> Self {
        let state = Rc::new(LoadState::default());
        state.started_at.set(Some(Instant::now()));
        let s = state.clone();
        let run_id = Uuid::new_v4().simple().to_string()[..8].to_owned();
        let handle = actix_web::rt::spawn(async move {
            futures_util::stream::iter(0..commands)
                .map(|i| register_until_accepted(&http, &apis, &s, &run_id, i))
                .buffer_unordered(24)
                .for_each(|()| async {})
                .await;
        });
        Self {
            state,
            handle,
            total: commands,
        }
    }

    pub fn accepted(&self) -> usize {
        self.state.accepted.borrow().len()
    }

    /// Waits until `fraction` of the load has been accepted.
    pub async fn reached(&self, fraction: f64) {
        let target = ((self.total as f64) * fraction).ceil() as usize;
        eventually(
            &format!("{target} commands are accepted"),
            Duration::from_secs(300),
            async || self.accepted() >= target || self.handle.is_finished(),
        )
        .await;
    }

    pub async fn finish(self) -> LoadResult {
        self.handle.await.expect("load driver");
        LoadResult {
            accepted: self.state.accepted.take(),
            gave_up: self.state.gave_up.get(),
            http_retries: self.state.http_retries.get(),
        }
    }
}

pub fn user_body(run: &str, i: usize) -> Value {
    json!({
        "email": format!("chaos{i}.{run}@example.com"),
        "username": format!("chaos_{run}_{i}"),
        "first_name": "Grace",
        "last_name": "Hopper",
        "password": "correct horse battery staple",
    })
}

async fn register_until_accepted(
    http: &awc::Client,
    apis: &[String],
    state: &LoadState,
    run: &str,
    i: usize,
) {
    let body = serde_json::to_vec(&user_body(run, i)).unwrap();
    let key = format!("chaos-{run}-{i}");
    let deadline = Instant::now() + Duration::from_secs(240);
    for attempt in 0usize.. {
        let api = &apis[(i + attempt) % apis.len()];
        let sent = http
            .post(format!("{api}/api/v1/users"))
            .insert_header(("content-type", "application/json"))
            .insert_header(("prefer", "respond-async"))
            .insert_header(("idempotency-key", key.as_str()))
            .send_body(body.clone())
            .await;
        match sent {
            Ok(mut res) if res.status().as_u16() == 202 => {
                let v: Value = res.json().await.expect("202 body");
                let id = Uuid::parse_str(v["command_id"].as_str().expect("command_id")).unwrap();
                state.accepted.borrow_mut().push(id);
                return;
            }
            Ok(mut res) if res.status().is_client_error() => {
                let body = res.body().await.unwrap_or_default();
                panic!(
                    "registration {i} refused with {}: {}",
                    res.status(),
                    String::from_utf8_lossy(&body)
                );
            }
            // 5xx, timeouts, refused connections: transient, try again (same key).
            Ok(_) | Err(_) => {
                state.http_retries.set(state.http_retries.get() + 1);
                if Instant::now() > deadline {
                    state.gave_up.set(state.gave_up.get() + 1);
                    return;
                }
                sleep(Duration::from_millis(50 * (attempt as u64 + 1).min(20))).await;
            }
        }
    }
}

// ------------------------------------------------------------------------------------- amqp

/// A connection to whichever node of the private cluster answers first.
pub async fn amqp() -> Connection {
    let deadline = Instant::now() + Duration::from_secs(60);
    let urls = crate::services::rabbitmq_url_list();
    for attempt in 0usize.. {
        match Connection::connect(&urls[attempt % urls.len()], ConnectionProperties::default())
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("AMQP connect: {e}"),
            Err(_) => sleep(Duration::from_millis(100)).await,
        }
    }
    unreachable!()
}

pub struct ObservedEvents {
    /// user id -> the distinct event ids seen for it
    pub by_user: HashMap<Uuid, HashSet<Uuid>>,
    /// Deliveries of an event id already seen (at-least-once publishing; harmless).
    pub same_event_again: usize,
}

/// Consumes the observer queue until `users` users have been seen and it stays quiet.
async fn drain_events(queue: &str, users: usize, within: Duration) -> ObservedEvents {
    let conn = amqp().await;
    let channel = conn.create_channel().await.unwrap();
    channel
        .basic_qos(500, BasicQosOptions::default())
        .await
        .unwrap();
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "chaos-observer".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut seen = ObservedEvents {
        by_user: HashMap::new(),
        same_event_again: 0,
    };
    let deadline = Instant::now() + within;
    loop {
        let quiet = if seen.by_user.len() >= users {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(5)
        };
        match tokio::time::timeout(quiet, consumer.next()).await {
            Ok(Some(Ok(delivery))) => {
                let v: Value = serde_json::from_slice(&delivery.data).expect("event JSON");
                assert_eq!(v["type"], "UserCreated", "{v}");
                let user = Uuid::parse_str(v["user_id"].as_str().unwrap()).unwrap();
                let event = Uuid::parse_str(v["event_id"].as_str().unwrap()).unwrap();
                if !seen.by_user.entry(user).or_default().insert(event) {
                    seen.same_event_again += 1;
                }
                delivery.ack(BasicAckOptions::default()).await.unwrap();
            }
            Ok(other) => panic!("observer consumer ended: {other:?}"),
            Err(_) if seen.by_user.len() >= users || Instant::now() > deadline => break,
            Err(_) => {}
        }
    }
    let _ = conn.close(200, "done".into()).await;
    seen
}

// ------------------------------------------------------------------------------------- http

pub async fn get_json(http: &awc::Client, url: &str) -> Option<(u16, Value)> {
    let mut res = http
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let body = res.body().await.ok()?;
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

pub async fn metric(
    http: &awc::Client,
    proc: &Proc,
    name: &str,
    selectors: &[&str],
) -> Option<f64> {
    // A busy process (draining a backlog) may answer a scrape slowly: try a few times.
    let mut text = None;
    for _ in 0..5 {
        let scraped = async {
            let mut res = http
                .get(proc.url("/metrics"))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body = res
                .body()
                .limit(16 * 1024 * 1024)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(String::from_utf8_lossy(&body).into_owned())
        };
        match scraped.await {
            Ok(t) => {
                text = Some(t);
                break;
            }
            Err(e) => {
                eprintln!("scraping {} failed: {e}", proc.name);
                sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let mut found = None;
    for line in text?.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let metric_name = series.split('{').next().unwrap_or(series);
        if metric_name == name
            && selectors.iter().all(|s| series.contains(s))
            && let Ok(v) = value.parse::<f64>()
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}
