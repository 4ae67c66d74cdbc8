//! Settling one delivery: ask the handler, decide (see `decision.rs`), then carry the decision
//! out against the broker — re-publish for a retry or a dead letter (confirmed) before acking the
//! original, so that a crash in between can only duplicate, never lose.

use super::decision::{Settlement, attempt_of, decide};
use super::{ConsumerConfig, Disposition, HandleDelivery, Incoming, Shared, Trip};
use crate::actor_ref::{ActorRef, Port};
use crate::error_chain::ErrorChain;
use crate::metrics::amqp_metrics;
use crate::rabbit::headers::{self, get_i64, int, text, with_headers};
use crate::rabbit::publisher::{Publish, PublishError, Publisher};
use actix::prelude::*;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a retry or dead letter could not be parked (the delivery is requeued instead).
#[derive(Debug, thiserror::Error)]
enum RepublishError {
    #[error("publisher unavailable")]
    Unavailable(#[source] MailboxError),
    #[error("re-publish failed")]
    Publish(#[source] PublishError),
}

/// Hands a delivery back to the broker without handling it (no attempt is used up).
pub(super) async fn give_back(delivery: &Delivery, queue: &str) {
    amqp_metrics().delivery(queue, "requeue");
    let _ = delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            multiple: false,
        })
        .await;
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(super) async fn settle(
    delivery: Delivery,
    handler: &Port<HandleDelivery>,
    publisher: &ActorRef<Publisher>,
    config: &ConsumerConfig,
    shared: &Shared,
    trip: Option<&(u32, Recipient<Trip>)>,
) {
    let attempt = attempt_of(&delivery.properties);
    let incoming = Incoming {
        payload: delivery.data.clone(),
        properties: delivery.properties.clone(),
        redelivered: delivery.redelivered,
        queue: config.queue.clone(),
        attempt,
    };
    let disposition = match handler.ask(HandleDelivery(incoming)).await {
        Ok(d) => d,
        // The handler actor is restarting or gone: a transient failure by definition.
        Err(error) => Disposition::Retry {
            error: format!("handler unavailable: {error}"),
        },
    };
    let metrics = amqp_metrics();
    let queue = config.queue.as_str();
    let breaker_open = if matches!(disposition, Disposition::Retry { .. }) {
        let failures = shared.consecutive_retries.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((trip_after, trip)) = trip
            && failures >= *trip_after
            && !shared.paused.swap(true, Ordering::SeqCst)
        {
            // Open at once, so that the deliveries failing right now alongside this one are
            // handed back; the actor then cancels the subscription and starts probing.
            trip.do_send(Trip);
        }
        shared.paused.load(Ordering::SeqCst)
    } else {
        shared.consecutive_retries.store(0, Ordering::SeqCst);
        false
    };
    let settlement = decide(&disposition, attempt, config.retry.as_ref(), breaker_open);
    let republish = match settlement {
        Settlement::GiveBack => {
            give_back(&delivery, queue).await;
            return;
        }
        Settlement::RejectToBroker => {
            metrics.delivery(queue, settlement.outcome());
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: false,
                    multiple: false,
                })
                .await;
            return;
        }
        Settlement::Ack => None,
        Settlement::Retry { retry_queue, error } => {
            Some(retry_publish(&delivery, retry_queue, attempt, error))
        }
        Settlement::DeadLetter {
            dead_letter_queue,
            original_queue,
            reason,
            error,
        } => Some(dead_letter_publish(
            &delivery,
            dead_letter_queue,
            original_queue,
            attempt,
            reason,
            error,
        )),
    };
    if let Some(publish) = republish
        && let Err(error) = publisher
            .ask(publish)
            .await
            .map_err(RepublishError::Unavailable)
            .and_then(|r| r.map_err(RepublishError::Publish))
    {
        // Could not park it elsewhere: put it back, after a pause so that a publisher that
        // is briefly without a channel cannot turn this into a hot requeue loop.
        tracing::warn!(%queue, error = %ErrorChain(&error), "re-publish for retry/dead-letter failed; requeueing");
        actix::clock::sleep(Duration::from_secs(1)).await;
        give_back(&delivery, queue).await;
        return;
    }
    metrics.delivery(queue, settlement.outcome());
    if let Err(error) = delivery.acker.ack(BasicAckOptions::default()).await {
        // The channel died after the work was done: the broker redelivers and the idempotent
        // handler recognises the repeat.
        tracing::warn!(%queue, error = %ErrorChain(&error), "ack failed");
    }
}

fn retry_publish(delivery: &Delivery, retry_queue: &str, attempt: u32, error: &str) -> Publish {
    let now = now_millis();
    let first = get_i64(&delivery.properties, headers::FIRST_FAILURE).unwrap_or(now);
    republish(
        delivery,
        retry_queue,
        &[
            (headers::ATTEMPTS, int(i64::from(attempt) + 1)),
            (headers::FIRST_FAILURE, int(first)),
            (headers::LAST_FAILURE, int(now)),
            (headers::LAST_ERROR, text(error)),
        ],
    )
}

fn dead_letter_publish(
    delivery: &Delivery,
    dead_letter_queue: &str,
    original_queue: &str,
    attempt: u32,
    reason: &str,
    error: &str,
) -> Publish {
    let now = now_millis();
    let first = get_i64(&delivery.properties, headers::FIRST_FAILURE).unwrap_or(now);
    republish(
        delivery,
        dead_letter_queue,
        &[
            (headers::DLQ_REASON, text(reason)),
            (headers::DLQ_ERROR, text(error)),
            (headers::DLQ_ATTEMPTS, int(i64::from(attempt))),
            (headers::DLQ_FIRST_FAILURE, int(first)),
            (headers::DLQ_LAST_FAILURE, int(now)),
            (headers::DLQ_ORIGINAL_QUEUE, text(original_queue)),
        ],
    )
}

/// The delivery again, unchanged but for `extra` headers, straight to `queue` (default exchange,
/// mandatory: a queue that is gone must fail the publish, not drop the message).
fn republish(delivery: &Delivery, queue: &str, extra: &[(&str, AMQPValue)]) -> Publish {
    Publish {
        exchange: String::new(),
        routing_key: queue.to_owned(),
        payload: delivery.data.clone(),
        properties: with_headers(delivery.properties.clone(), extra),
        mandatory: true,
    }
}
