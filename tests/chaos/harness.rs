//! The chaos harness: a scenario's `Cluster` — a namespace (database + AMQP prefix) of its own on
//! the private services, the real `hexactor` binary as 2 API and 3 worker processes — and its
//! life cycle (start, clean-up). The rest lives beside it: `launch.rs` (spawning the processes,
//! readiness), `processes.rs`, `load.rs` (the load driver), `probe.rs` (AMQP, `/ready`, `/metrics`), `verify.rs` (the checks
//! every scenario ends with), `services.rs` (the private services and the faults injected there).
//!
//! Synchronisation is always "poll until a condition holds, with a deadline"; the only plain
//! sleeps are the *durations of faults* (how long the broker or the database stays away) and the
//! back-off between polls.

pub use crate::load::*;
pub use crate::probe::*;
pub use crate::processes::*;
pub use crate::services::DatabaseLockout;
pub use crate::support::amqp::{
    consumer_count, dead_letter_queue, delete_queue, publish_raw, queue_depth,
};
pub use crate::support::eventually;
use crate::support::{amqp, postgres};
use hexactor::infrastructure::messaging::names::Names;
use lapin::ExchangeKind;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use serde_json::Value;
use sqlx::PgPool;
use std::path::PathBuf;
use std::process::{Command, Stdio};
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

pub fn retry_tiers() -> Vec<Duration> {
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
    /// What the processes get as RABBITMQ_URL: every node unless a scenario pins one.
    pub(crate) rabbitmq_urls: String,
    /// Every mail the workers send (welcome and address verification) really goes over SMTP
    /// to this listener, so the invariants cover delivery too.
    pub smtp: crate::support::smtp::SmtpServer,
    pub(crate) next_proc: usize,
    started: Instant,
}

impl Cluster {
    /// A fresh namespace, the event-observing test queue, 2 APIs and 3 workers, all ready, each
    /// given every node of the cluster.
    pub async fn start(scenario: &str) -> Self {
        Self::start_with_urls(scenario, crate::services::rabbitmq_urls()).await
    }

    /// The same, with the processes given `rabbitmq_urls` (e.g. a single node).
    pub async fn start_with_urls(scenario: &str, rabbitmq_urls: String) -> Self {
        actix_web::rt::task::spawn_blocking(crate::services::restore_all_nodes_blocking)
            .await
            .unwrap();
        let (database, prefix) = crate::support::fresh_namespace();
        postgres::create_database(&postgres_base(), &database).await;
        let dir = std::env::temp_dir().join(format!("hexactor-chaos-{scenario}-{prefix}"));
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
            rabbitmq_urls,
            smtp: crate::support::smtp::SmtpServer::start().await,
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

    /// The namespace's queues, as the service declares them (work, retry tiers, DLQs).
    pub fn queues(&self) -> Vec<String> {
        amqp::topology(&self.names, &retry_tiers()).0
    }

    /// Consumers a worker runs: one per work queue (neither a retry tier nor a DLQ).
    pub fn worker_consumers(&self) -> f64 {
        self.queues()
            .iter()
            .filter(|q| !q.ends_with(".dlq") && !q.contains(".retry."))
            .count() as f64
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
        postgres::drop_database(&postgres_base(), &self.database).await;
        let conn = amqp().await;
        let (mut queues, exchanges) = amqp::topology(&self.names, &retry_tiers());
        queues.push(self.events_queue.clone());
        amqp::delete_all(&conn, queues, exchanges).await;
        let _ = conn.close(200, "done".into()).await;
        let _ = std::fs::remove_dir_all(&self.dir);
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
