//! Service-level metrics (the per-actor and AMQP ones live in the `actors` crate).

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, register_histogram_vec,
    register_int_counter, register_int_counter_vec, register_int_gauge,
};
use std::sync::LazyLock;

struct Metrics {
    commands: IntCounterVec,
    outbox_backlog: IntGauge,
    outbox_oldest_age: IntGauge,
    outbox_published: IntCounter,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    auth_attempts: IntCounterVec,
    tokens_issued: IntCounter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    commands: register_int_counter_vec!(
        Opts::new(
            "commands_total",
            "Commands by type and status (accepted|succeeded|failed)"
        ),
        &["type", "status"]
    )
    .expect("registered once"),
    outbox_backlog: register_int_gauge!("outbox_backlog", "Outbox rows not yet published")
        .expect("registered once"),
    outbox_oldest_age: register_int_gauge!(
        "outbox_oldest_age_seconds",
        "Age of the oldest unpublished outbox row"
    )
    .expect("registered once"),
    outbox_published: register_int_counter!(
        "outbox_published_total",
        "Outbox rows published and confirmed"
    )
    .expect("registered once"),
    http_requests: register_int_counter_vec!(
        Opts::new(
            "http_requests_total",
            "HTTP requests by method, route pattern and status"
        ),
        &["method", "route", "status"]
    )
    .expect("registered once"),
    http_duration: register_histogram_vec!(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "HTTP request latency by route pattern"
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
        ]),
        &["method", "route"]
    )
    .expect("registered once"),
    auth_attempts: register_int_counter_vec!(
        Opts::new(
            "auth_attempts_total",
            "Login attempts by outcome (success|invalid|locked)"
        ),
        &["status"]
    )
    .expect("registered once"),
    tokens_issued: register_int_counter!("jwt_tokens_issued_total", "Access tokens issued")
        .expect("registered once"),
});

pub fn auth_attempt(status: &str) {
    METRICS.auth_attempts.with_label_values(&[status]).inc();
}

pub fn token_issued() {
    METRICS.tokens_issued.inc();
}

pub fn commands_total(kind: &str, status: &str) {
    METRICS.commands.with_label_values(&[kind, status]).inc();
}

pub fn outbox_backlog(rows: i64, oldest_age_seconds: i64) {
    METRICS.outbox_backlog.set(rows);
    METRICS.outbox_oldest_age.set(oldest_age_seconds);
}

pub fn outbox_published(n: u64) {
    METRICS.outbox_published.inc_by(n);
}

pub fn http_request(method: &str, route: &str, status: u16, seconds: f64) {
    METRICS
        .http_requests
        .with_label_values(&[method, route, &status.to_string()])
        .inc();
    METRICS
        .http_duration
        .with_label_values(&[method, route])
        .observe(seconds);
}

/// Touches every metric so that all families exist (at 0) from the first scrape: alerts built
/// on `increase()` cannot see a series' first increment otherwise.
pub fn register_all() {
    LazyLock::force(&METRICS);
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
