//! AMQP helpers for tests: connect, publish straight into a queue, read a queue's counters, take
//! a message, and delete a namespace's queues and exchanges (named by the service's own `Names`
//! and topology, never by literals).

use hexactor::infrastructure::messaging::names::Names;
use lapin::message::BasicGetMessage;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection};
use std::time::Duration;

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

/// A connection to `url`; fails the test if the broker does not answer.
pub async fn connect(url: &str) -> Connection {
    Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("AMQP connect: {e}"))
}

/// Deletes `queue` (empty or not); an error if the broker refused.
pub async fn delete_queue(conn: &Connection, queue: &str) -> lapin::Result<()> {
    let channel = conn.create_channel().await?;
    channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await?;
    let _ = channel.close(200, "ok".into()).await;
    Ok(())
}

/// Clean-up: deletes every queue and exchange named, ignoring those already gone. A fresh
/// channel each time: deleting what is gone closes the channel.
pub async fn delete_all(
    conn: &Connection,
    queues: impl IntoIterator<Item = String>,
    exchanges: impl IntoIterator<Item = String>,
) {
    for queue in queues {
        let _ = delete_queue(conn, &queue).await;
    }
    for exchange in exchanges {
        if let Ok(channel) = conn.create_channel().await {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), Default::default())
                .await;
        }
    }
}

/// The queues and exchanges the service declares in the namespace `names`, with these retry
/// tiers (the tiers name the retry queues; the queue type does not change any name).
pub fn topology(names: &Names, retry_tiers: &[Duration]) -> (Vec<String>, Vec<String>) {
    let topology = hexactor::startup::topology(
        names,
        retry_tiers,
        ::actors::rabbit::QueueKind::Classic,
        None,
    );
    (
        topology.queues.into_iter().map(|q| q.name).collect(),
        topology.exchanges.into_iter().map(|e| e.name).collect(),
    )
}

/// Takes one message off a queue (acked), if there is one.
pub async fn take_message(conn: &Connection, queue: &str) -> Option<BasicGetMessage> {
    let channel = conn.create_channel().await.unwrap();
    channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get")
}

/// The dead-letter queue of work queue `queue`, named as the service names it.
pub fn dead_letter_queue(queue: &str) -> String {
    ::actors::rabbit::WorkQueue::new(queue, &[]).dead_letter_queue
}
