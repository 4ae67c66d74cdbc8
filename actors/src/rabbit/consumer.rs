//! A queue consumer actor: subscribes whenever the connection comes up, hands each delivery to a
//! handler port, and settles the delivery only after the handler has answered (manual acks after
//! the work, bounded prefetch).
//!
//! The handler answers with a [`Disposition`]; failures never requeue in a hot loop:
//! - `Retry`: re-published to the next delayed-retry tier (with `x-attempts`), then acked; after
//!   `max_attempts` it is dead-lettered instead.
//! - `DeadLetter`: published to the dead-letter queue with headers saying why, then acked.
//!
//! Both re-publishes are confirmed before the original is acked, so a crash in between can only
//! duplicate (the handlers are idempotent), never lose.

use super::ConnectionManager;
use super::connection::{AmqpConnection, ConnectionEvent, Subscribe};
use super::headers::{get_i64, get_str, int, text, with_headers};
use super::publisher::{Publish, Publisher};
use super::topology::WorkQueue;
use crate::actor_ref::{ActorRef, Port};
use crate::instrument::Outcome;
use crate::metrics::amqp_metrics;
use actix::prelude::*;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const ATTEMPTS_HEADER: &str = "x-attempts";
const FIRST_FAILURE_HEADER: &str = "x-first-failure";

/// A delivery as the handler sees it: data only, the consumer keeps the acker.
pub struct Incoming {
    pub payload: Vec<u8>,
    pub properties: BasicProperties,
    pub redelivered: bool,
    pub queue: String,
    /// 1 for the first delivery, then counted across delayed retries.
    pub attempt: u32,
}

impl Incoming {
    pub fn header_str(&self, key: &str) -> Option<String> {
        get_str(&self.properties, key)
    }
}

#[derive(Message)]
#[rtype(result = "Disposition")]
pub struct HandleDelivery(pub Incoming);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Done (successfully, or a business failure that was recorded): remove it.
    Ack,
    /// A transient failure: try again later, through the retry tiers.
    Retry { error: String },
    /// It can never succeed (undecodable, unknown type): straight to the dead-letter queue.
    DeadLetter { reason: String, error: String },
}

impl Outcome for Disposition {
    fn is_ok(&self) -> bool {
        matches!(self, Disposition::Ack)
    }
}

/// Where retries and dead letters of this queue go.
#[derive(Clone, Debug)]
pub struct RetryRoute {
    pub work: WorkQueue,
    pub max_attempts: u32,
}

#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    pub queue: String,
    pub prefetch: u16,
    pub retry: Option<RetryRoute>,
}

/// Stop taking deliveries, wait for those in flight to be settled (up to `deadline`).
/// Replies with how many were still in flight when it gave up (0 = clean).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct StopConsuming {
    pub deadline: Duration,
}

pub struct QueueConsumer {
    manager: ActorRef<ConnectionManager>,
    publisher: ActorRef<Publisher>,
    handler: Port<HandleDelivery>,
    config: Arc<ConsumerConfig>,
    conn: Option<AmqpConnection>,
    channel: Option<Channel>,
    consumer_tag: Option<String>,
    stopping: bool,
    in_flight: Arc<AtomicUsize>,
}

impl QueueConsumer {
    pub fn new(
        manager: ActorRef<ConnectionManager>,
        publisher: ActorRef<Publisher>,
        handler: Port<HandleDelivery>,
        config: ConsumerConfig,
    ) -> Self {
        Self {
            manager,
            publisher,
            handler,
            config: Arc::new(config),
            conn: None,
            channel: None,
            consumer_tag: None,
            stopping: false,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn subscribe(&mut self, ctx: &mut Context<Self>) {
        let Some(conn) = self.conn.clone() else {
            return;
        };
        if self.stopping || self.channel.is_some() {
            return;
        }
        let generation = conn.generation;
        let config = self.config.clone();
        let tag = format!("{}-{}", config.queue, uuid::Uuid::new_v4().simple());
        let open = {
            let tag = tag.clone();
            async move {
                let channel = conn.create_channel().await?;
                channel
                    .basic_qos(config.prefetch, BasicQosOptions::default())
                    .await?;
                let consumer = channel
                    .basic_consume(
                        config.queue.as_str().into(),
                        tag.as_str().into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
                Ok::<_, lapin::Error>((channel, consumer))
            }
        };
        ctx.spawn(open.into_actor(self).map(move |result, act, ctx| match result {
            Ok((channel, consumer)) => {
                if act.conn.as_ref().map(|c| c.generation) != Some(generation) {
                    return;
                }
                act.channel = Some(channel.clone());
                act.consumer_tag = Some(tag);
                amqp_metrics().consumers_running.inc();
                tracing::info!(queue = %act.config.queue, "consuming");
                act.run_deliveries(consumer, ctx);
            }
            Err(error) => {
                tracing::warn!(queue = %act.config.queue, %error, "could not subscribe; retrying");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.subscribe(ctx));
            }
        }));
    }

    fn run_deliveries(&mut self, mut consumer: lapin::Consumer, ctx: &mut Context<Self>) {
        let handler = self.handler.clone();
        let publisher = self.publisher.clone();
        let config = self.config.clone();
        let in_flight = self.in_flight.clone();
        let pump = async move {
            while let Some(item) = consumer.next().await {
                match item {
                    Ok(delivery) => {
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let (handler, publisher, config, in_flight) = (
                            handler.clone(),
                            publisher.clone(),
                            config.clone(),
                            in_flight.clone(),
                        );
                        actix::spawn(async move {
                            settle(delivery, &handler, &publisher, &config).await;
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(error) => {
                        tracing::warn!(queue = %config.queue, %error, "consumer stream failed");
                        break;
                    }
                }
            }
        };
        ctx.spawn(pump.into_actor(self).map(|(), act, ctx| {
            // The stream ended: connection loss, or the broker cancelled us (queue deleted,
            // node restarted). Subscribe again if the connection is still usable.
            amqp_metrics().consumers_running.dec();
            act.channel = None;
            act.consumer_tag = None;
            tracing::warn!(queue = %act.config.queue, "consumer stopped");
            if !act.stopping && act.conn.as_ref().is_some_and(|c| c.is_connected()) {
                ctx.run_later(Duration::from_millis(500), |act, ctx| act.subscribe(ctx));
            }
        }));
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn settle(
    delivery: Delivery,
    handler: &Port<HandleDelivery>,
    publisher: &ActorRef<Publisher>,
    config: &ConsumerConfig,
) {
    let attempt = get_i64(&delivery.properties, ATTEMPTS_HEADER)
        .unwrap_or(1)
        .max(1) as u32;
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
    let deliveries = &amqp_metrics().deliveries;
    let queue = config.queue.as_str();
    let (outcome, republish) = match (&disposition, &config.retry) {
        (Disposition::Ack, _) => ("ack", None),
        (Disposition::Retry { error }, Some(route)) if attempt < route.max_attempts => {
            let tier = (attempt as usize - 1).min(route.work.retry_queues.len().saturating_sub(1));
            match route.work.retry_queues.get(tier) {
                Some((retry_queue, _)) => (
                    "retry",
                    Some(retry_publish(&delivery, retry_queue, attempt, error)),
                ),
                None => (
                    "dead_letter",
                    Some(dead_letter_publish(
                        &delivery,
                        route,
                        attempt,
                        "retries_exhausted",
                        error,
                    )),
                ),
            }
        }
        (Disposition::Retry { error }, Some(route)) => (
            "dead_letter",
            Some(dead_letter_publish(
                &delivery,
                route,
                attempt,
                "retries_exhausted",
                error,
            )),
        ),
        (Disposition::DeadLetter { reason, error }, Some(route)) => (
            "dead_letter",
            Some(dead_letter_publish(
                &delivery, route, attempt, reason, error,
            )),
        ),
        // No retry route: let the broker dead-letter it (queue's x-dead-letter-exchange).
        (Disposition::Retry { .. } | Disposition::DeadLetter { .. }, None) => {
            deliveries.with_label_values(&[queue, "dead_letter"]).inc();
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: false,
                    multiple: false,
                })
                .await;
            return;
        }
    };
    if let Some(publish) = republish {
        if let Err(error) = publisher
            .ask(publish)
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            // Could not park it elsewhere: put it back; it comes again after a reconnect.
            tracing::warn!(%queue, %error, "re-publish for retry/dead-letter failed; requeueing");
            deliveries.with_label_values(&[queue, "requeue"]).inc();
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
            return;
        }
    }
    deliveries.with_label_values(&[queue, outcome]).inc();
    if let Err(error) = delivery.acker.ack(BasicAckOptions::default()).await {
        // The channel died after the work was done: the broker redelivers and the idempotent
        // handler recognises the repeat.
        tracing::warn!(%queue, %error, "ack failed");
    }
}

fn retry_publish(delivery: &Delivery, retry_queue: &str, attempt: u32, error: &str) -> Publish {
    let now = now_millis();
    let first = get_i64(&delivery.properties, FIRST_FAILURE_HEADER).unwrap_or(now);
    let properties = with_headers(
        delivery.properties.clone(),
        &[
            (ATTEMPTS_HEADER, int(i64::from(attempt) + 1)),
            (FIRST_FAILURE_HEADER, int(first)),
            ("x-last-failure", int(now)),
            ("x-last-error", text(error)),
        ],
    );
    Publish {
        exchange: String::new(),
        routing_key: retry_queue.to_owned(),
        payload: delivery.data.clone(),
        properties,
        mandatory: true,
    }
}

fn dead_letter_publish(
    delivery: &Delivery,
    route: &RetryRoute,
    attempt: u32,
    reason: &str,
    error: &str,
) -> Publish {
    let now = now_millis();
    let first = get_i64(&delivery.properties, FIRST_FAILURE_HEADER).unwrap_or(now);
    let properties = with_headers(
        delivery.properties.clone(),
        &[
            ("x-dlq-reason", text(reason)),
            ("x-dlq-error", text(error)),
            ("x-dlq-attempts", int(i64::from(attempt))),
            ("x-dlq-first-failure", int(first)),
            ("x-dlq-last-failure", int(now)),
            ("x-dlq-original-queue", text(&route.work.name)),
        ],
    );
    Publish {
        exchange: String::new(),
        routing_key: route.work.dead_letter_queue.clone(),
        payload: delivery.data.clone(),
        properties,
        mandatory: true,
    }
}

impl Actor for QueueConsumer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.manager.tell(Subscribe(ctx.address().recipient()));
    }
}

impl Supervised for QueueConsumer {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.channel = None;
        self.consumer_tag = None;
        self.conn = None;
    }
}

impl Handler<ConnectionEvent> for QueueConsumer {
    type Result = ();

    fn handle(&mut self, event: ConnectionEvent, ctx: &mut Context<Self>) {
        match event {
            ConnectionEvent::Up(conn) => {
                self.conn = Some(conn);
                self.channel = None;
                self.subscribe(ctx);
            }
            ConnectionEvent::Down { .. } => {
                self.conn = None;
                self.channel = None;
            }
        }
    }
}

impl Handler<StopConsuming> for QueueConsumer {
    type Result = ResponseFuture<usize>;

    fn handle(&mut self, msg: StopConsuming, _: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        let cancel = self.channel.clone().zip(self.consumer_tag.clone());
        let in_flight = self.in_flight.clone();
        Box::pin(async move {
            if let Some((channel, tag)) = cancel {
                let _ = channel
                    .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                    .await;
            }
            let deadline = Instant::now() + msg.deadline;
            while in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                actix::clock::sleep(Duration::from_millis(10)).await;
            }
            in_flight.load(Ordering::SeqCst)
        })
    }
}

crate::instrument!(QueueConsumer: StopConsuming);

impl<A: Actor> actix::dev::MessageResponse<A, HandleDelivery> for Disposition {
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<Disposition>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

impl<A: Actor> crate::instrument::IntoReply<A, Disposition> for Disposition {
    fn into_reply(self) -> crate::instrument::Reply<A, Disposition> {
        crate::instrument::Reply::Ready(self)
    }
}
