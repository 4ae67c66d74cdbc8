//! The chaos suite's private services: a 3-node RabbitMQ cluster and a PostgreSQL instance that
//! `scripts/chaos-services.sh run` started for this run (and removes after it, whatever happens).
//! Faults are injected through that script, so the recipe for a node lives in one place.
//!
//! Without its CHAOS_* variables a chaos test refuses to run: it must never stop, lock or
//! restart the RabbitMQ and PostgreSQL on 5672/5432 that a developer works with.

use crate::harness::{postgres_base, run_blocking};
use std::time::{Duration, Instant};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the chaos tests run only against private services, \
             through `make test`, `make chaos` or `scripts/chaos-services.sh run cargo nextest run \
             --test chaos`"
        )
    })
}

/// The base URL (no database) of the private PostgreSQL.
pub fn database_base() -> String {
    var("CHAOS_DATABASE_BASE_URL")
}

/// The AMQP URLs of the three nodes, comma-separated (what the processes get as RABBITMQ_URL).
pub fn rabbitmq_urls() -> String {
    var("CHAOS_RABBITMQ_URLS")
}

pub fn rabbitmq_url_list() -> Vec<String> {
    rabbitmq_urls().split(',').map(str::to_owned).collect()
}

/// The Erlang node names, in the order of the URLs (node `i` is `nodes()[i]`).
pub fn nodes() -> Vec<String> {
    var("CHAOS_RABBIT_NODES")
        .split(',')
        .map(str::to_owned)
        .collect()
}

pub const NODES: usize = 3;

/// Runs the services script with `args`, blocking; returns (success, stdout+stderr).
pub fn script_blocking(args: &[String]) -> (bool, String) {
    crate::harness::run_blocking(&var("CHAOS_SERVICES_SCRIPT"), args)
}

async fn script(args: Vec<String>) -> (bool, String) {
    actix_web::rt::task::spawn_blocking(move || script_blocking(&args))
        .await
        .expect("blocking task")
}

fn node_args(i: usize, op: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "node".to_owned(),
        var("CHAOS_SERVICES_DIR"),
        (i + 1).to_string(),
        op.to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A node operation that must succeed: `stop` (graceful, whole VM), `kill` (SIGKILL),
/// `start` (boot and wait until running), `stop_app`, `start_app`.
pub async fn node(i: usize, op: &str) {
    let (ok, out) = script(node_args(i, op, &[])).await;
    assert!(ok, "node {} {op}: {out}", i + 1);
}

/// `rabbitmqctl -n <node i> ARGS`.
pub async fn ctl(i: usize, args: &[&str]) -> (bool, String) {
    script(node_args(i, "ctl", args)).await
}

fn amqp_port_open(i: usize) -> bool {
    let url = &rabbitmq_url_list()[i];
    let port = url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse::<u16>().ok())
        .expect("a port in the chaos AMQP URL");
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
    .is_ok()
}

/// Brings every node back (the VM started if it is gone, the app started if it was stopped).
/// Blocking, so that a guard's `Drop` can call it while a failed test unwinds.
pub fn restore_all_nodes_blocking() {
    let down: Vec<usize> = (0..NODES).filter(|&i| !amqp_port_open(i)).collect();
    // Booting nodes of a cluster wait for each other: start them all at once.
    let handles: Vec<_> = down
        .iter()
        .map(|&i| {
            std::thread::spawn(move || {
                let ping = script_blocking(&node_args(i, "ctl", &["-q", "ping"]));
                if ping.0 {
                    script_blocking(&node_args(i, "start_app", &[]))
                } else {
                    script_blocking(&node_args(i, "start", &[]))
                }
            })
        })
        .collect();
    for (i, h) in down.iter().zip(handles) {
        if let Ok((false, out)) = h.join() {
            eprintln!("could not bring node {} back: {out}", i + 1);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while (0..NODES).any(|i| !amqp_port_open(i)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// While alive, nodes may be down; dropping it (also while a failed test unwinds) brings every
/// node back, so the next scenario starts on a whole cluster.
pub struct ClusterGuard;

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        restore_all_nodes_blocking();
    }
}

/// What one node's CLI answered when asked for a quorum queue's leader.
pub struct LeaderAnswer {
    pub node: usize,
    pub ok: bool,
    /// The index of the node it names as leader, if it named one of ours.
    pub leader: Option<usize>,
    pub output: String,
}

impl std::fmt::Display for LeaderAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let leader = self
            .leader
            .map_or("none".to_owned(), |l| format!("node {}", l + 1));
        write!(
            f,
            "node {} (exit {}): leader {leader}; output: {}",
            self.node + 1,
            if self.ok { "0" } else { "non-zero" },
            self.output.trim()
        )
    }
}

/// `rabbitmqctl list_queues name leader` asked of every node but `down` (a CLI call to a dead
/// node takes seconds to fail), each answer kept so that a wait that fails can say what the
/// surviving nodes reported.
pub async fn leader_answers(queue: &str, down: Option<usize>) -> Vec<LeaderAnswer> {
    let names = nodes();
    let mut answers = Vec::new();
    for i in (0..NODES).filter(|&i| Some(i) != down) {
        let (ok, output) = ctl(i, &["-q", "list_queues", "name", "leader"]).await;
        let leader = output
            .lines()
            .find_map(|l| {
                let mut cols = l.split_whitespace();
                (cols.next() == Some(queue)).then(|| cols.next().map(str::to_owned))?
            })
            .and_then(|leader| names.iter().position(|n| *n == leader));
        answers.push(LeaderAnswer {
            node: i,
            ok,
            leader: leader.filter(|_| ok),
            output,
        });
    }
    answers
}

/// The index of the node hosting `queue`'s quorum leader, as the first node that names one says.
pub async fn quorum_leader(queue: &str, down: Option<usize>) -> Option<usize> {
    leader_answers(queue, down)
        .await
        .into_iter()
        .find_map(|a| a.leader)
}

/// `pg_ctl restart -m fast` of the private PostgreSQL (waits until it accepts connections).
pub async fn postgres_fast_restart() {
    let (ok, out) = script(vec![
        "pg".into(),
        var("CHAOS_SERVICES_DIR"),
        "restart".into(),
    ])
    .await;
    assert!(ok, "pg_ctl restart -m fast: {out}");
}

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
