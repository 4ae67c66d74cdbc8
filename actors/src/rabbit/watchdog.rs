//! The subscription watchdog: a consumer must not go on waiting on a queue that no longer exists
//! (run by the consumer's periodic check, `consumer/watch.rs`).
//!
//! Normally the broker says so (`basic.cancel` when the queue is deleted) and the consumer
//! subscribes again. On a RabbitMQ 3.10 cluster that notification was seen missing (the chaos
//! suite's broker-cancel scenario: a quorum queue deleted, no worker cancelled, all of them
//! waiting forever). So every consumer also checks, every [`WATCH_EVERY`], that its queue is
//! still there: a passive declare on the subscription's own channel. If the queue is gone the
//! broker closes that channel (404), the delivery stream ends, and the consumer takes the same
//! path as after a `basic.cancel` — topology declared again, subscribed anew.

use lapin::Channel;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use std::time::Duration;

pub const WATCH_EVERY: Duration = Duration::from_secs(5);

/// Checks (in the background) that `queue` exists, through `channel`; a missing queue closes
/// the channel and so ends the subscription on it.
pub fn check_queue(channel: Channel, queue: String) {
    actix::spawn(async move {
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        if let Err(error) = channel
            .queue_declare(queue.as_str().into(), passive, FieldTable::default())
            .await
        {
            tracing::warn!(%queue, error = %crate::error_chain::ErrorChain(&error), "subscribed queue is gone (no basic.cancel came); the subscription ends");
        }
    });
}
