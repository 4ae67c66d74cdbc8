//! AMQP helpers for tests: publish straight into a queue, read a queue's counters.

use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection};

/// Publishes `payload` into `queue` through the default exchange and waits for the broker's
/// confirm (mandatory: an unroutable publish fails the test).
pub async fn publish_raw(
    conn: &Connection,
    queue: &str,
    payload: &[u8],
    properties: BasicProperties,
) {
    let channel = conn.create_channel().await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            payload,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let _ = channel.close(200, "ok".into()).await;
}

/// A queue's (ready messages, consumers), from a passive declare; None if it does not exist.
pub async fn queue_counts(conn: &Connection, queue: &str) -> Option<(u32, u32)> {
    let channel = conn.create_channel().await.ok()?;
    let q = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .ok()?;
    let _ = channel.close(200, "ok".into()).await;
    Some((q.message_count(), q.consumer_count()))
}

/// Messages ready in `queue`, None if the queue does not exist.
pub async fn queue_depth(conn: &Connection, queue: &str) -> Option<u32> {
    queue_counts(conn, queue)
        .await
        .map(|(messages, _)| messages)
}

/// Consumers of `queue`, None if the queue does not exist.
pub async fn consumer_count(conn: &Connection, queue: &str) -> Option<u32> {
    queue_counts(conn, queue)
        .await
        .map(|(_, consumers)| consumers)
}
