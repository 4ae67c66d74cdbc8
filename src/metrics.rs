//! Service-level metrics (the per-actor and AMQP ones live in the `actors` crate).
//!
//! Two families live here: hexactor's own names (`commands_total`, `outbox_*`, …) and the names
//! the model service declared (`user_operations_total`, `command_processing_total`, …), fed from
//! the same events so that the model's dashboards and alerts keep working. Every family whose
//! label values are known up front is touched at start-up ([`register_all`]) so that a healthy
//! system shows 0 rather than "No data". Only adapters (`http`, `infrastructure`) call into this
//! module; use cases report through the `application::outcomes` port.

use crate::application::commands::{Command, Declaration};
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, register_histogram_vec,
    register_int_counter, register_int_counter_vec, register_int_gauge,
};
use std::sync::LazyLock;

/// Command outcome statuses; the command types come from their declarations (`Command::DECLARED`).
const COMMAND_STATUSES: &[&str] = &["accepted", "succeeded", "failed"];
/// `application_errors_total` label pairs, all known up front.
pub const APPLICATION_ERRORS: &[(&str, &str)] = &[
    ("unavailable", "http"),
    ("internal", "http"),
    ("transient", "worker"),
    ("poison", "worker"),
];
/// `query_processing_total` query types (reads answered by repository actors).
pub const QUERY_TYPES: &[&str] = &[
    "get_user",
    "list_users",
    "get_command",
    "list_user_commands",
    "read_events",
];
const OUTCOMES: &[&str] = &["success", "failure"];

const DB_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

struct Metrics {
    commands: IntCounterVec,
    command_processing: IntCounterVec,
    user_operations: IntCounterVec,
    query_processing: IntCounterVec,
    application_errors: IntCounterVec,
    outbox_backlog: IntGauge,
    outbox_oldest_age: IntGauge,
    outbox_published: IntCounter,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    http_in_progress: IntGauge,
    auth_attempts: IntCounterVec,
    breached_password_checks: IntCounterVec,
    tokens_issued: IntCounter,
    active_users: IntGauge,
    db_operations: IntCounterVec,
    db_duration: HistogramVec,
    db_connections_active: IntGauge,
    db_pool_idle: IntGauge,
    db_pool_size: IntGauge,
    db_pool_acquire: prometheus::Histogram,
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register_int_counter_vec!(Opts::new(name, help), labels).expect("registered once")
}

fn gauge(name: &str, help: &str) -> IntGauge {
    register_int_gauge!(name, help).expect("registered once")
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    commands: counter(
        "commands_total",
        "Commands by type and status (accepted|succeeded|failed)",
        &["type", "status"],
    ),
    command_processing: counter(
        "command_processing_total",
        "Commands by type and status (accepted|succeeded|failed); the model's name for commands_total",
        &["command_type", "status"],
    ),
    user_operations: counter(
        "user_operations_total",
        "User operations applied by a worker (register, update, deactivate, change_password, reset_password, verify_email, ...), by status (success|failure)",
        &["operation", "status"],
    ),
    query_processing: counter(
        "query_processing_total",
        "Reads answered by repository actors, by query type and status (success|failure)",
        &["query_type", "status"],
    ),
    application_errors: counter(
        "application_errors_total",
        "Errors that were not the client's fault, by type and component",
        &["error_type", "component"],
    ),
    outbox_backlog: gauge("outbox_backlog", "Outbox rows not yet published"),
    outbox_oldest_age: gauge(
        "outbox_oldest_age_seconds",
        "Age of the oldest unpublished outbox row",
    ),
    outbox_published: register_int_counter!(
        "outbox_published_total",
        "Outbox rows published and confirmed"
    )
    .expect("registered once"),
    http_requests: counter(
        "http_requests_total",
        "HTTP requests by method, route template (endpoint) and status code",
        &["method", "endpoint", "status_code"],
    ),
    http_duration: register_histogram_vec!(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template (endpoint)"
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
        ]),
        &["method", "endpoint"]
    )
    .expect("registered once"),
    http_in_progress: gauge(
        "http_requests_in_progress",
        "HTTP requests being served right now",
    ),
    auth_attempts: counter(
        "auth_attempts_total",
        "Login attempts by outcome (success|invalid|locked)",
        &["status"],
    ),
    breached_password_checks: counter(
        "breached_password_checks_total",
        "New passwords screened against breached passwords, by outcome (clean|breached|error_allowed|error_denied)",
        &["outcome"],
    ),
    tokens_issued: register_int_counter!("jwt_tokens_issued_total", "Access tokens issued")
        .expect("registered once"),
    active_users: gauge(
        "active_users_total",
        "Active (not deactivated) user accounts, sampled periodically from PostgreSQL",
    ),
    db_operations: counter(
        "db_operations_total",
        "Database operations by operation, table and status (success|failure)",
        &["operation", "table", "status"],
    ),
    db_duration: register_histogram_vec!(
        HistogramOpts::new(
            "db_operation_duration_seconds",
            "Database operation latency (pool acquire included) by operation and table"
        )
        .buckets(DB_BUCKETS.to_vec()),
        &["operation", "table"]
    )
    .expect("registered once"),
    db_connections_active: gauge(
        "db_connections_active",
        "Pool connections in use (checked out); sampled periodically",
    ),
    db_pool_idle: gauge(
        "db_pool_connections_idle",
        "Pool connections open and idle; sampled periodically",
    ),
    db_pool_size: gauge(
        "db_pool_connections",
        "Pool connections open (in use + idle); sampled periodically",
    ),
    db_pool_acquire: prometheus::register_histogram!(
        HistogramOpts::new(
            "db_pool_acquire_seconds",
            "Time a periodic probe waited to check a connection out of the pool"
        )
        .buckets(DB_BUCKETS.to_vec())
    )
    .expect("registered once"),
});

pub fn auth_attempt(status: &str) {
    METRICS.auth_attempts.with_label_values(&[status]).inc();
}

/// `breached_password_checks_total` outcomes, all known up front.
pub const BREACH_CHECK_OUTCOMES: &[&str] = &["clean", "breached", "error_allowed", "error_denied"];

pub fn breached_password_check(outcome: &'static str) {
    METRICS
        .breached_password_checks
        .with_label_values(&[outcome])
        .inc();
}

pub fn token_issued() {
    METRICS.tokens_issued.inc();
}

/// A command changed state: counted under hexactor's name and the model's.
/// A command of this type was recorded by the API.
pub fn command_accepted(command: &Declaration) {
    commands_total(command.kind, "accepted");
}

/// A worker applied a command of this type: succeeded, or refused by a business rule.
pub fn command_outcome(command: &Declaration, success: bool) {
    commands_total(command.kind, if success { "succeeded" } else { "failed" });
    METRICS
        .user_operations
        .with_label_values(&[command.operation, outcome(success)])
        .inc();
}

fn commands_total(kind: &str, status: &str) {
    METRICS.commands.with_label_values(&[kind, status]).inc();
    METRICS
        .command_processing
        .with_label_values(&[kind, status])
        .inc();
}

pub fn query(query_type: &str, success: bool) {
    METRICS
        .query_processing
        .with_label_values(&[query_type, outcome(success)])
        .inc();
}

pub fn application_error(error_type: &str, component: &str) {
    METRICS
        .application_errors
        .with_label_values(&[error_type, component])
        .inc();
}

fn outcome(success: bool) -> &'static str {
    if success { "success" } else { "failure" }
}

pub fn outbox_backlog(rows: i64, oldest_age_seconds: i64) {
    METRICS.outbox_backlog.set(rows);
    METRICS.outbox_oldest_age.set(oldest_age_seconds);
}

pub fn outbox_published(n: u64) {
    METRICS.outbox_published.inc_by(n);
}

pub fn http_request(method: &str, endpoint: &str, status: u16, seconds: f64) {
    METRICS
        .http_requests
        .with_label_values(&[method, endpoint, &status.to_string()])
        .inc();
    METRICS
        .http_duration
        .with_label_values(&[method, endpoint])
        .observe(seconds);
}

/// Counts a request in `http_requests_in_progress` until dropped (also when the handler panics).
pub struct InProgress(());

impl InProgress {
    pub fn start() -> Self {
        METRICS.http_in_progress.inc();
        Self(())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        METRICS.http_in_progress.dec();
    }
}

pub fn db_operation(operation: &str, table: &str, success: bool, seconds: f64) {
    METRICS
        .db_operations
        .with_label_values(&[operation, table, outcome(success)])
        .inc();
    METRICS
        .db_duration
        .with_label_values(&[operation, table])
        .observe(seconds);
}

/// A sample of the pool (sqlx counts open and idle connections; in use is the difference).
pub fn db_pool(open: u32, idle: u32, acquire_seconds: Option<f64>) {
    METRICS.db_pool_size.set(i64::from(open));
    METRICS.db_pool_idle.set(i64::from(idle));
    METRICS
        .db_connections_active
        .set(i64::from(open.saturating_sub(idle)));
    if let Some(s) = acquire_seconds {
        METRICS.db_pool_acquire.observe(s);
    }
}

pub fn active_users(n: i64) {
    METRICS.active_users.set(n);
}

/// Every (operation, table) pair the repository actors report (`infrastructure::postgres::observed`),
/// so the series start at 0. It is here, with the other label sets, because the metrics adapter is
/// what needs the full list; the repositories only name their own pair.
pub const DB_OPERATIONS: &[(&str, &str)] = &[
    ("select", "users"),
    ("transaction", "users"),
    ("update", "users"),
    ("insert", "commands"),
    ("select", "commands"),
    ("insert", "auth_sessions"),
    ("select", "auth_sessions"),
    ("update", "auth_sessions"),
    ("update", "refresh_tokens"),
    ("select", "login_throttle"),
    ("upsert", "login_throttle"),
    ("update", "login_throttle"),
    ("select", "outbox"),
    ("update", "outbox"),
    ("select", "one_time_tokens"),
    ("select", "event_log"),
    ("upsert", "rate_limits"),
    ("select", "oauth2_clients"),
    ("insert", "oauth2_codes"),
    ("update", "oauth2_codes"),
    ("select", "oauth2_consents"),
    ("upsert", "oauth2_consents"),
];

/// Creates every series whose labels are known up front, at 0.
fn touch_known_series() {
    let m = &*METRICS;
    for command in Command::DECLARED {
        for status in COMMAND_STATUSES {
            m.commands.with_label_values(&[command.kind, status]);
            m.command_processing
                .with_label_values(&[command.kind, status]);
        }
        for o in OUTCOMES {
            m.user_operations.with_label_values(&[command.operation, o]);
        }
    }
    for q in QUERY_TYPES {
        for o in OUTCOMES {
            m.query_processing.with_label_values(&[q, o]);
        }
    }
    for (error_type, component) in APPLICATION_ERRORS {
        m.application_errors
            .with_label_values(&[error_type, component]);
    }
    for result in crate::application::outcomes::LoginResult::ALL {
        m.auth_attempts.with_label_values(&[result.as_str()]);
    }
    for outcome in BREACH_CHECK_OUTCOMES {
        m.breached_password_checks.with_label_values(&[outcome]);
    }
    for (operation, table) in DB_OPERATIONS {
        for o in OUTCOMES {
            m.db_operations.with_label_values(&[operation, table, o]);
        }
        m.db_duration.with_label_values(&[operation, table]);
    }
}

/// Touches every metric so that all families exist (at 0) from the first scrape: alerts built
/// on `increase()` cannot see a series' first increment otherwise.
pub fn register_all() {
    LazyLock::force(&METRICS);
    touch_known_series();
    ::actors::metrics::actor_metrics();
    ::actors::metrics::amqp_metrics();
}

/// The Prometheus text exposition of every registered metric.
pub fn render() -> String {
    use prometheus::Encoder as _;
    let mut buf = Vec::new();
    let _ = prometheus::TextEncoder::new().encode(&prometheus::gather(), &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}
