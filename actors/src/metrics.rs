//! Per-actor and messaging metrics, registered once in the process-wide Prometheus registry.
//!
//! Labels are actor *types* and message *types* (short Rust type names), never instance ids or
//! user data, so cardinality stays bounded by the code base rather than by traffic.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    register_histogram_vec, register_int_counter, register_int_counter_vec, register_int_gauge,
    register_int_gauge_vec,
};
use std::sync::LazyLock;

/// Buckets from 50 µs to 10 s: actor hops are microseconds, bcrypt and database work milliseconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

pub struct ActorMetrics {
    pub messages: IntCounterVec,
    pub duration: HistogramVec,
    pub mailbox_wait: HistogramVec,
    pub mailbox_depth: IntGaugeVec,
    pub restarts: IntCounterVec,
    pub instances: IntGaugeVec,
    pub escalations: IntCounterVec,
    pub stalls: IntCounterVec,
}

pub struct AmqpMetrics {
    pub connection_up: IntGauge,
    pub connected_node: IntGaugeVec,
    pub reconnects: IntCounter,
    pub consumers_running: IntGauge,
    pub subscriptions_restarted: IntCounterVec,
    pub published: IntCounterVec,
    pub deliveries: IntCounterVec,
    /// The model service's names, fed from the same events (compatibility).
    pub messages_published: IntCounterVec,
    pub messages_consumed: IntCounterVec,
}

/// Why a subscription was started again (`amqp_subscriptions_restarted_total{reason}`).
pub const SUBSCRIPTION_RESTARTS: &[&str] = &["cancelled", "idle_renewal"];

/// Outcomes of a consumed delivery (`amqp_deliveries_total{outcome}`).
pub const DELIVERY_OUTCOMES: &[&str] = &["ack", "retry", "dead_letter", "requeue"];

impl AmqpMetrics {
    /// One settled delivery, under hexactor's name and the model's.
    pub fn delivery(&self, queue: &str, outcome: &str) {
        self.deliveries.with_label_values(&[queue, outcome]).inc();
        self.messages_consumed
            .with_label_values(&[queue, outcome])
            .inc();
    }

    /// A subscription ended by the broker (`cancelled`) or renewed while idle (`idle_renewal`).
    pub fn subscription_restarted(&self, queue: &str, reason: &str) {
        self.subscriptions_restarted
            .with_label_values(&[queue, reason])
            .inc();
    }

    /// Creates a consumer's series at 0 so that a healthy queue shows 0, not "No data".
    pub fn touch_queue(&self, queue: &str) {
        for outcome in DELIVERY_OUTCOMES {
            self.deliveries.with_label_values(&[queue, outcome]);
            self.messages_consumed.with_label_values(&[queue, outcome]);
        }
        for reason in SUBSCRIPTION_RESTARTS {
            self.subscriptions_restarted
                .with_label_values(&[queue, reason]);
        }
    }
}

fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    register_histogram_vec!(
        HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
        labels
    )
    .expect("metric registered once")
}

pub fn actor_metrics() -> &'static ActorMetrics {
    static METRICS: LazyLock<ActorMetrics> = LazyLock::new(|| ActorMetrics {
        messages: register_int_counter_vec!(
            Opts::new(
                "actor_messages_total",
                "Messages handled, by actor type, message type and outcome"
            ),
            &["actor", "message", "outcome"]
        )
        .expect("metric registered once"),
        duration: histogram(
            "actor_message_duration_seconds",
            "Time from the start of handling to the reply (async work included)",
            &["actor", "message"],
        ),
        mailbox_wait: histogram(
            "actor_mailbox_wait_seconds",
            "Time a message waited in the mailbox before its handler ran",
            &["actor", "message"],
        ),
        mailbox_depth: register_int_gauge_vec!(
            Opts::new(
                "actor_mailbox_depth",
                "Messages sent but not yet handled, per actor type"
            ),
            &["actor"]
        )
        .expect("metric registered once"),
        restarts: register_int_counter_vec!(
            Opts::new(
                "actor_restarts_total",
                "Actor restarts by a supervisor, by reason (panic|error)"
            ),
            &["actor", "reason"]
        )
        .expect("metric registered once"),
        instances: register_int_gauge_vec!(
            Opts::new("actor_instances", "Running actor instances, per actor type"),
            &["actor"]
        )
        .expect("metric registered once"),
        escalations: register_int_counter_vec!(
            Opts::new(
                "supervisor_escalations_total",
                "Restart intensity exceeded, per supervisor"
            ),
            &["supervisor"]
        )
        .expect("metric registered once"),
        stalls: register_int_counter_vec!(
            Opts::new(
                "actor_stalls_total",
                "Messages that stayed in their handler longer than the stall limit, per actor type"
            ),
            &["actor"]
        )
        .expect("metric registered once"),
    });
    &METRICS
}

pub fn amqp_metrics() -> &'static AmqpMetrics {
    static METRICS: LazyLock<AmqpMetrics> = LazyLock::new(|| {
        AmqpMetrics {
        connection_up: register_int_gauge!(
            "amqp_connection_up",
            "1 while the AMQP connection is open"
        )
        .expect("metric registered once"),
        connected_node: register_int_gauge_vec!(
            Opts::new(
                "amqp_connected_node",
                "1 for the broker node (host:port) the AMQP connection is open to, 0 for nodes it was"
            ),
            &["node"]
        )
        .expect("metric registered once"),
        reconnects: register_int_counter!("amqp_reconnects_total", "Successful AMQP reconnections")
            .expect("metric registered once"),
        consumers_running: register_int_gauge!(
            "amqp_consumers_running",
            "Queue consumers currently subscribed"
        )
        .expect("metric registered once"),
        subscriptions_restarted: register_int_counter_vec!(
            Opts::new(
                "amqp_subscriptions_restarted_total",
                "Subscriptions started again, by queue and reason (cancelled: the broker ended it; idle_renewal: renewed after a quiet spell)"
            ),
            &["queue", "reason"]
        )
        .expect("metric registered once"),
        published: register_int_counter_vec!(
            Opts::new(
                "amqp_published_total",
                "Publishes by outcome (confirmed|nacked|failed)"
            ),
            &["outcome"]
        )
        .expect("metric registered once"),
        deliveries: register_int_counter_vec!(
            Opts::new(
                "amqp_deliveries_total",
                "Consumed deliveries by queue and outcome"
            ),
            &["queue", "outcome"]
        )
        .expect("metric registered once"),
        messages_published: register_int_counter_vec!(
            Opts::new(
                "messages_published_total",
                "Publishes by destination (routing key on the default exchange, else the exchange) and status (confirmed|nacked|failed)"
            ),
            &["queue", "status"]
        )
        .expect("metric registered once"),
        messages_consumed: register_int_counter_vec!(
            Opts::new(
                "messages_consumed_total",
                "Consumed deliveries by queue and status (ack|retry|dead_letter|requeue)"
            ),
            &["queue", "status"]
        )
        .expect("metric registered once"),
    }
    });
    for outcome in ["confirmed", "nacked", "failed"] {
        METRICS.published.with_label_values(&[outcome]);
    }
    &METRICS
}

/// The last path segment of a type name, without generic arguments: `a::b::Foo<x::Y>` -> `Foo`.
pub fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    struct Plain;
    #[allow(dead_code)]
    struct Generic<T>(T);

    #[test]
    fn short_names_drop_paths_and_generics() {
        assert_eq!(short_type_name::<Plain>(), "Plain");
        assert_eq!(short_type_name::<Generic<Vec<u8>>>(), "Generic");
    }
}
