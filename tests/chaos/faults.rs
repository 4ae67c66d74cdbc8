//! The faults' building blocks and what a scenario asserts while one is in effect: the whole
//! broker away, nodes stopped at once, connections counted per node, commands published straight
//! into the command queue, retries counted from the workers' metrics.

use crate::harness::*;
use crate::rounds::Injected;
use crate::services::{self, ClusterGuard};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

pub(crate) async fn gauge(c: &Cluster, proc: &Proc, name: &str) -> Option<f64> {
    c.metric(proc, name, &[]).await
}

pub(crate) async fn assert_worker_reconnected(
    c: &Cluster,
    worker: &Proc,
    reconnects_at_least: f64,
) {
    eventually(
        &format!("{} is reconnected and consuming again", worker.name),
        Duration::from_secs(60),
        async || {
            gauge(c, worker, "amqp_connection_up").await == Some(1.0)
                && gauge(c, worker, "amqp_consumers_running").await == Some(c.worker_consumers())
                && gauge(c, worker, "amqp_reconnects_total")
                    .await
                    .is_some_and(|n| n >= reconnects_at_least)
        },
    )
    .await;
}

/// While the broker is away: the worker's gauges drop, the API says `degraded` (not unready)
/// and still accepts a command (202, it waits in the outbox), the worker says 503. Returns the
/// id of that command.
pub(crate) async fn assert_broker_outage_seen(c: &Cluster) -> Uuid {
    let (api, worker) = (&c.apis[0], &c.workers[0]);
    eventually(
        "the worker reports the broker connection down",
        Duration::from_secs(30),
        async || {
            gauge(c, worker, "amqp_connection_up").await == Some(0.0)
                && gauge(c, worker, "amqp_consumers_running").await == Some(0.0)
        },
    )
    .await;
    eventually(
        "the API reports the broker degraded, the worker is not ready",
        Duration::from_secs(10),
        async || {
            let api_ready = c.ready(api).await;
            let worker_ready = c.ready(worker).await;
            matches!(&api_ready, Some((200, v)) if v["checks"]["rabbitmq"] == "degraded")
                && matches!(&worker_ready, Some((503, _)))
        },
    )
    .await;
    c.register_one(1).await
}

/// Runs `op` on the given nodes at once (booting nodes of a cluster wait for their peers).
pub(crate) async fn on_nodes(nodes: &[usize], op: &str) {
    futures_util::future::join_all(nodes.iter().map(|&i| services::node(i, op))).await;
}

pub(crate) const ALL_NODES: [usize; services::NODES] = [0, 1, 2];

/// Every process is connected again and every worker consumes from both its queues.
pub(crate) async fn assert_all_connected(c: &Cluster, what: &str) {
    eventually(what, Duration::from_secs(90), async || {
        for p in c.apis.iter().chain(&c.workers) {
            if gauge(c, p, "amqp_connection_up").await != Some(1.0) {
                return false;
            }
        }
        for w in &c.workers {
            if gauge(c, w, "amqp_consumers_running").await != Some(c.worker_consumers()) {
                return false;
            }
        }
        true
    })
    .await;
}

/// How many of the cluster's processes are connected to node `i` (`amqp_connected_node`).
pub(crate) async fn connected_to(c: &Cluster, i: usize) -> usize {
    let url = &services::rabbitmq_url_list()[i];
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
    let label = format!(r#"node="127.0.0.1:{port}""#);
    let mut n = 0;
    for p in c.apis.iter().chain(&c.workers) {
        if c.metric(p, "amqp_connected_node", &[&label]).await == Some(1.0) {
            n += 1;
        }
    }
    n
}

/// The whole broker away mid-load, by `op` on all three nodes (undone by the guard): the
/// outage is seen (gauges, readiness, a 202 meanwhile), then the workers reconnect.
pub(crate) async fn whole_broker_away(
    c: &mut Cluster,
    load: &Load,
    round: usize,
    op: &str,
    outage: Duration,
) -> Injected {
    let guard = ClusterGuard;
    let before = load.accepted();
    on_nodes(&ALL_NODES, op).await;
    let accepted = assert_broker_outage_seen(c).await;
    sleep(outage).await; // the outage
    drop(guard); // start_app / boot on every node (all at once)
    eprintln!(
        "chaos[{}]: round {round}: {} commands accepted while the broker was away ({op} on every node)",
        c.scenario,
        load.accepted() - before
    );
    assert_worker_reconnected(c, &c.workers[0], (round + 1) as f64).await;
    Injected::accepted([accepted])
}

/// A copy of a real command (from the outbox) with fresh ids, published straight into the
/// command queue: traffic that does not need the database to reach the workers.
pub(crate) async fn command_template(c: &Cluster) -> Value {
    let payload: Vec<u8> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE exchange = $1 ORDER BY id LIMIT 1")
            .bind(&c.names.commands_exchange)
            .fetch_one(&c.pool)
            .await
            .expect("a command in the outbox");
    serde_json::from_slice(&payload).unwrap()
}

pub(crate) async fn inject_commands(c: &Cluster, template: &Value, n: usize) -> Vec<Uuid> {
    let conn = amqp().await;
    let mut ids = Vec::new();
    for i in 0..n {
        let mut command = template.clone();
        let (id, user) = (Uuid::new_v4(), Uuid::new_v4());
        command["command_id"] = id.to_string().into();
        command["user_id"] = user.to_string().into();
        command["details"]["email"] =
            format!("direct{i}.{}@example.com", &user.simple().to_string()[..8]).into();
        command["details"]["username"] =
            format!("direct_{}", &user.simple().to_string()[..12]).into();
        let mut headers = FieldTable::default();
        headers.insert("x-schema-version".into(), AMQPValue::LongLongInt(1));
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(id.to_string().into())
            .with_type("RegisterUser".into())
            .with_headers(headers);
        publish_raw(
            &conn,
            &c.names.command_queue,
            &serde_json::to_vec(&command).unwrap(),
            props,
        )
        .await;
        ids.push(id);
    }
    let _ = conn.close(200, "done".into()).await;
    ids
}

/// Command deliveries the workers sent to a retry tier so far.
pub(crate) async fn command_retries(c: &Cluster) -> f64 {
    let queue = format!(r#"queue="{}""#, c.names.command_queue);
    let mut n = 0.0;
    for w in &c.workers {
        n += c
            .metric(w, "amqp_deliveries_total", &[&queue, r#"outcome="retry""#])
            .await
            .unwrap_or(0.0);
    }
    n
}
