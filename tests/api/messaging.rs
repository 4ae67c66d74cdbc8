//! Commands through RabbitMQ: competing workers, redelivery after a worker dies, idempotent
//! handling of duplicates, poison messages to the dead-letter queue.

use crate::helpers::*;
use futures_util::StreamExt;
use hexactor::startup::ProcessRole;
use lapin::BasicProperties;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use std::time::Duration;

const QUORUM: &[(&str, &str)] = &[("QUEUE_TYPE", "quorum")];

async fn submit_async(api: &TestApp, n: usize) -> Vec<String> {
    let mut locations = Vec::new();
    for i in 0..n {
        let res = api
            .register(&user_body(&i.to_string()), &[("prefer", "respond-async")])
            .await;
        assert_eq!(res.status, 202);
        locations.push(res.header("location").unwrap());
    }
    locations
}

#[actix_web::test]
async fn two_workers_on_one_queue_process_every_command_exactly_once() {
    let ns = Namespace::new().await;
    let api = spawn_role(&ns, ProcessRole::Api, QUORUM).await;
    let _w1 = spawn_role(
        &ns,
        ProcessRole::Worker,
        &[("WORKER_PREFETCH", "5"), ("QUEUE_TYPE", "quorum")],
    )
    .await;
    let _w2 = spawn_role(
        &ns,
        ProcessRole::Worker,
        &[("WORKER_PREFETCH", "5"), ("QUEUE_TYPE", "quorum")],
    )
    .await;

    // Both workers compete on the one queue.
    let conn = amqp().await;
    let queue = ns.names().command_queue;
    eventually(
        "two consumers on the command queue",
        Duration::from_secs(10),
        async || consumer_count(&conn, &queue).await == Some(2),
    )
    .await;

    let locations = submit_async(&api, 40).await;
    for location in &locations {
        assert_eq!(api.wait_for_command(location).await["status"], "succeeded");
    }
    assert_eq!(api.count("SELECT count(*) FROM users").await, 40);
    assert_eq!(
        api.count("SELECT count(*) FROM commands WHERE status = 'succeeded'")
            .await,
        40
    );
    // One UserCreated per user, no more.
    assert_eq!(
        api.count("SELECT count(*) FROM outbox WHERE routing_key = 'users.user.created'")
            .await,
        40
    );
}

/// RabbitMQ can forget a consumer without sending `basic.cancel` (`actors` `consumer/watch.rs`),
/// so a worker renews a subscription that has had no delivery for `CONSUMER_RENEW_IDLE_SECONDS`;
/// the renewed subscription is a working one.
#[actix_web::test]
async fn an_idle_worker_subscription_is_renewed_and_goes_on_taking_commands() {
    let ns = Namespace::new().await;
    let api = spawn_role(&ns, ProcessRole::Api, QUORUM).await;
    let worker = spawn_role(
        &ns,
        ProcessRole::Worker,
        &[
            ("QUEUE_TYPE", "quorum"),
            ("CONSUMER_RENEW_IDLE_SECONDS", "1"),
        ],
    )
    .await;
    let queue = ns.names().command_queue;
    let renewals =
        format!(r#"amqp_subscriptions_restarted_total{{queue="{queue}",reason="idle_renewal"}}"#);
    eventually(
        "two renewals of the idle command subscription",
        Duration::from_secs(30),
        async || crate::metrics::sample(&worker.metrics().await, &renewals).unwrap_or(0.0) >= 2.0,
    )
    .await;

    let conn = amqp().await;
    eventually(
        "one consumer on the command queue",
        Duration::from_secs(10),
        async || consumer_count(&conn, &queue).await == Some(1),
    )
    .await;
    let _ = conn.close(200, "done".into()).await;
    for location in submit_async(&api, 5).await {
        assert_eq!(api.wait_for_command(&location).await["status"], "succeeded");
    }
}

#[actix_web::test]
async fn a_worker_that_dies_holding_an_unacked_message_gets_it_redelivered_and_applied_once() {
    let ns = Namespace::new().await;
    let api = spawn_role(&ns, ProcessRole::Api, QUORUM).await;
    let location = submit_async(&api, 1).await.remove(0);
    let queue = ns.names().command_queue;

    // A "worker" takes the message and dies before acking (its connection closes).
    {
        let conn = amqp().await;
        let channel = conn.create_channel().await.unwrap();
        channel
            .basic_qos(1, BasicQosOptions::default())
            .await
            .unwrap();
        let mut consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "doomed".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let delivery = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .expect("the command reaches the queue")
            .unwrap()
            .unwrap();
        assert!(!delivery.redelivered);
        conn.close(320, "worker crashed".into()).await.unwrap();
    }
    assert_eq!(api.get(&location).await.json()["status"], "pending");

    let _worker = spawn_role(&ns, ProcessRole::Worker, QUORUM).await;
    assert_eq!(api.wait_for_command(&location).await["status"], "succeeded");
    assert_eq!(api.count("SELECT count(*) FROM users").await, 1);
    assert_eq!(
        api.count("SELECT count(*) FROM outbox WHERE routing_key = 'users.user.created'")
            .await,
        1
    );
}

#[actix_web::test]
async fn a_duplicated_command_message_creates_one_user_and_one_event() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, ProcessRole::All, QUORUM).await;
    let res = app.register(&user_body("1"), &[]).await;
    assert_eq!(res.status, 201);

    // Publish the very same command again, as a broker redelivery or a relay re-publish would.
    let (payload,): (Vec<u8>,) =
        sqlx::query_as("SELECT payload FROM outbox WHERE routing_key = 'users.register'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let conn = amqp().await;
    let queue = ns.names().command_queue;
    publish_raw(&conn, &queue, &payload, BasicProperties::default()).await;
    publish_raw(&conn, &queue, &payload, BasicProperties::default()).await;

    let queue_for_check = queue.clone();
    eventually(
        "the duplicates are consumed",
        Duration::from_secs(10),
        async || {
            queue_counts(&conn, &queue_for_check)
                .await
                .is_some_and(|(messages, consumers)| messages == 0 && consumers > 0)
        },
    )
    .await;
    // Settle: the two duplicates were acked only after the (idempotent) transaction finished.
    eventually(
        "the acks are counted",
        Duration::from_secs(10),
        async || {
            let m = app.metrics().await;
            m.lines().any(|l| {
                l.starts_with(&format!(
                    r#"amqp_deliveries_total{{outcome="ack",queue="{queue}"}} 3"#
                ))
            })
        },
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE routing_key = 'users.user.created'")
            .await,
        1
    );
}

#[actix_web::test]
async fn poison_messages_go_to_the_dead_letter_queue_and_the_worker_carries_on() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, ProcessRole::All, QUORUM).await;
    let conn = amqp().await;
    let queue = ns.names().command_queue;
    publish_raw(
        &conn,
        &queue,
        b"this is not json",
        BasicProperties::default(),
    )
    .await;
    publish_raw(
        &conn,
        &queue,
        br#"{"type":"DropAllTables"}"#,
        BasicProperties::default(),
    )
    .await;

    assert_eq!(app.register(&user_body("1"), &[]).await.status, 201);

    let dlq = dead_letter_queue(&queue);
    let mut reasons = Vec::new();
    eventually(
        "both poison messages are dead-lettered",
        Duration::from_secs(10),
        async || {
            if let Some(msg) = take_message(&conn, &dlq).await {
                let reason =
                    ::actors::rabbit::headers::get_str(&msg.delivery.properties, "x-dlq-reason")
                        .unwrap();
                let original = ::actors::rabbit::headers::get_str(
                    &msg.delivery.properties,
                    "x-dlq-original-queue",
                )
                .unwrap();
                assert_eq!(original, queue);
                reasons.push(reason);
            }
            reasons.len() == 2
        },
    )
    .await;
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            "undecodable".to_string(),
            "unknown_type_or_invalid".to_string()
        ]
    );
    assert!(
        take_message(&conn, &dlq).await.is_none(),
        "nothing else is dead-lettered"
    );
}
