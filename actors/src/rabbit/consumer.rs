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
//!
//! Subscriptions are rebuilt from scratch whenever the connection comes back, and whenever the
//! broker ends one (`basic.cancel`, e.g. the queue was deleted): the topology is declared again
//! and the consumer subscribes anew. With a [`Breaker`], a run of transient failures (a
//! dependency such as the database is down) pauses the subscription; deliveries still held are
//! handed back unhandled, and a probe decides when to resume. A watchdog (`watchdog.rs`) ends a
//! subscription whose queue vanished without a `basic.cancel`.

use super::ConnectionManager;
use super::connection::{AmqpConnection, ConnectionEvent, Redeclare, Subscribe};
use super::headers::{get_i64, get_str, int, text, with_headers};
use super::publisher::{Publish, Publisher};
use super::topology::WorkQueue;
use crate::actor_ref::{ActorRef, Port};
use crate::backoff_policy::Backoff;
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
use prometheus::{IntGaugeVec, Opts, register_int_gauge_vec};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
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

/// "Is the dependency behind the handler usable again?" (answered by a health probe).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct ProbeReady;

/// Circuit breaker: after `trip_after` transient failures in a row the consumer stops taking
/// messages, then asks `probe` every `probe_every` and resumes once it answers `true`.
#[derive(Clone)]
pub struct Breaker {
    pub trip_after: u32,
    pub probe: Port<ProbeReady>,
    pub probe_every: Duration,
}

/// Opening a channel and subscribing on it; longer means the connection is not really there.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// A breaker that opens again within this time after closing is flapping: its next pause is longer.
const FLAP_WINDOW: Duration = Duration::from_secs(10);
/// The longest pause before a flapping breaker probes again.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// Stop taking deliveries, wait for those in flight to be settled (up to `deadline`).
/// Replies with how many were still in flight when it gave up (0 = clean).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct StopConsuming {
    pub deadline: Duration,
}

/// 1 while a queue's consumer is paused by its circuit breaker.
fn paused_gauge() -> &'static IntGaugeVec {
    static GAUGE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
        register_int_gauge_vec!(
            Opts::new(
                "amqp_consumer_paused",
                "1 while a queue's consumer is paused by its circuit breaker"
            ),
            &["queue"]
        )
        .expect("metric registered once")
    });
    &GAUGE
}

/// State the delivery tasks share with the actor.
#[derive(Default)]
struct Shared {
    /// Deliveries handed to the handler and not yet settled (all subscriptions).
    in_flight: AtomicUsize,
    consecutive_retries: AtomicU32,
    /// Breaker open: deliveries are handed back to the broker unhandled.
    paused: AtomicBool,
    stopping: AtomicBool,
}

/// The breaker has seen enough consecutive transient failures.
#[derive(Message)]
#[rtype(result = "()")]
struct Trip;

/// A subscription's delivery stream ended (broker cancel, channel or connection closed).
#[derive(Message)]
#[rtype(result = "()")]
struct StreamEnded {
    id: u64,
    error: Option<String>,
}

struct Subscription {
    id: u64,
    generation: u64,
    channel: Channel,
    tag: String,
    pump: SpawnHandle,
    /// Deliveries of this channel not yet settled: the channel is closed only when it is 0,
    /// so that their acks still reach the broker.
    in_flight: Arc<AtomicUsize>,
}

pub struct QueueConsumer {
    manager: ActorRef<ConnectionManager>,
    publisher: ActorRef<Publisher>,
    handler: Port<HandleDelivery>,
    config: Arc<ConsumerConfig>,
    breaker: Option<Breaker>,
    conn: Option<AmqpConnection>,
    subscription: Option<Subscription>,
    /// The subscribe attempt in progress, if any (a stale attempt must not clear a newer one's).
    subscribing: Option<u64>,
    next_id: u64,
    /// Counted in `amqp_consumers_running`.
    running: bool,
    paused: bool,
    probing: Option<SpawnHandle>,
    /// When the breaker last closed, and the growing pause for a breaker that re-opens soon after.
    resumed_at: Option<Instant>,
    probe_backoff: Backoff,
    stopping: bool,
    resubscribe: Backoff,
    shared: Arc<Shared>,
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
            breaker: None,
            conn: None,
            subscription: None,
            subscribing: None,
            next_id: 0,
            running: false,
            paused: false,
            probing: None,
            resumed_at: None,
            probe_backoff: Backoff::new(Duration::from_millis(500), MAX_PAUSE),
            stopping: false,
            resubscribe: Backoff::new(Duration::from_millis(250), Duration::from_secs(5)),
            shared: Arc::new(Shared::default()),
        }
    }

    /// Adds a circuit breaker (see [`Breaker`]).
    pub fn with_breaker(mut self, breaker: Breaker) -> Self {
        self.probe_backoff = Backoff::new(breaker.probe_every, MAX_PAUSE.max(breaker.probe_every));
        self.breaker = Some(breaker);
        self
    }

    fn set_running(&mut self, running: bool) {
        if self.running != running {
            self.running = running;
            if running {
                amqp_metrics().consumers_running.inc();
            } else {
                amqp_metrics().consumers_running.dec();
            }
        }
    }

    fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        self.shared.paused.store(paused, Ordering::SeqCst);
        paused_gauge()
            .with_label_values(&[self.config.queue.as_str()])
            .set(i64::from(paused));
    }

    fn connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_connected())
    }

    fn subscribe(&mut self, ctx: &mut Context<Self>) {
        if self.stopping || self.paused || self.subscribing.is_some() || self.subscription.is_some()
        {
            return;
        }
        let Some(conn) = self.conn.clone() else {
            return;
        };
        self.next_id += 1;
        let attempt = self.next_id;
        self.subscribing = Some(attempt);
        let generation = conn.generation;
        let config = self.config.clone();
        let tag = format!("{}-{}", config.queue, uuid::Uuid::new_v4().simple());
        let open = {
            let tag = tag.clone();
            let open = async move {
                let channel = conn.create_channel().await.map_err(|e| e.to_string())?;
                let consume = async {
                    channel
                        .basic_qos(config.prefetch, BasicQosOptions::default())
                        .await?;
                    channel
                        .basic_consume(
                            config.queue.as_str().into(),
                            tag.as_str().into(),
                            BasicConsumeOptions::default(),
                            FieldTable::default(),
                        )
                        .await
                };
                match consume.await {
                    Ok(consumer) => Ok((channel, consumer)),
                    Err(error) => {
                        let _ = channel.close(200, "subscribe failed".into()).await;
                        Err(error.to_string())
                    }
                }
            };
            // A connection that died silently must not leave the consumer "subscribing" forever.
            async move {
                match tokio::time::timeout(SUBSCRIBE_TIMEOUT, open).await {
                    Ok(Ok(subscribed)) => Ok(subscribed),
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(format!("no answer within {SUBSCRIBE_TIMEOUT:?}")),
                }
            }
        };
        ctx.spawn(open.into_actor(self).map(move |result, act, ctx| {
            if act.subscribing == Some(attempt) {
                act.subscribing = None;
            }
            match result {
                Ok((channel, consumer)) => {
                    let current = act.conn.as_ref().map(|c| c.generation) == Some(generation);
                    if !current || act.stopping || act.paused || act.subscription.is_some() {
                        // Things changed while subscribing: give the subscription back (and
                        // subscribe on the new connection, if that is what changed).
                        actix::spawn(async move {
                            let _ = channel.close(200, "not needed".into()).await;
                        });
                        act.subscribe(ctx);
                        return;
                    }
                    act.resubscribe.reset();
                    let id = attempt;
                    let in_flight = Arc::new(AtomicUsize::new(0));
                    let pump = act.pump(id, consumer, in_flight.clone(), ctx);
                    act.subscription = Some(Subscription {
                        id,
                        generation,
                        channel,
                        tag,
                        pump,
                        in_flight,
                    });
                    act.set_running(true);
                    tracing::info!(queue = %act.config.queue, "consuming");
                }
                Err(error) => {
                    tracing::warn!(queue = %act.config.queue, %error, "could not subscribe; retrying");
                    if act.subscribing.is_none() {
                        act.retry_subscribe(ctx);
                    }
                }
            }
        }));
    }

    /// Subscribes again after a pause; the queue may be gone (deleted by an operator, or a
    /// broker that lost its definitions), so the topology is declared first.
    fn retry_subscribe(&mut self, ctx: &mut Context<Self>) {
        if self.stopping || self.paused || !self.connected() {
            return;
        }
        let delay = self.resubscribe.next_delay();
        let manager = self.manager.clone();
        ctx.run_later(delay, move |act, ctx| {
            if act.stopping || act.paused || !act.connected() || act.subscription.is_some() {
                return;
            }
            let redeclare = async move { manager.ask(Redeclare).await };
            ctx.spawn(redeclare.into_actor(act).map(|result, act, ctx| {
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(queue = %act.config.queue, %error, "could not redeclare the topology")
                    }
                    Err(error) => {
                        tracing::warn!(queue = %act.config.queue, %error, "connection manager unavailable")
                    }
                }
                if act.subscription.is_none() {
                    act.subscribe(ctx);
                }
            }));
        });
    }

    /// Hands every delivery of `consumer` to the handler (in its own task); deliveries arriving
    /// while paused or stopping are handed back to the broker unhandled.
    fn pump(
        &mut self,
        id: u64,
        mut consumer: lapin::Consumer,
        sub_in_flight: Arc<AtomicUsize>,
        ctx: &mut Context<Self>,
    ) -> SpawnHandle {
        let handler = self.handler.clone();
        let publisher = self.publisher.clone();
        let config = self.config.clone();
        let shared = self.shared.clone();
        let trip = self
            .breaker
            .as_ref()
            .map(|b| (b.trip_after, ctx.address().recipient::<Trip>()));
        let me = ctx.address();
        let pump = async move {
            let mut error = None;
            while let Some(item) = consumer.next().await {
                let delivery = match item {
                    Ok(delivery) => delivery,
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                };
                shared.in_flight.fetch_add(1, Ordering::SeqCst);
                sub_in_flight.fetch_add(1, Ordering::SeqCst);
                let (handler, publisher, config, shared, sub_in_flight, trip) = (
                    handler.clone(),
                    publisher.clone(),
                    config.clone(),
                    shared.clone(),
                    sub_in_flight.clone(),
                    trip.clone(),
                );
                actix::spawn(async move {
                    if shared.paused.load(Ordering::SeqCst)
                        || shared.stopping.load(Ordering::SeqCst)
                    {
                        give_back(&delivery, &config.queue).await;
                    } else {
                        settle(
                            delivery,
                            &handler,
                            &publisher,
                            &config,
                            &shared,
                            trip.as_ref(),
                        )
                        .await;
                    }
                    sub_in_flight.fetch_sub(1, Ordering::SeqCst);
                    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
            me.do_send(StreamEnded { id, error });
        };
        ctx.spawn(pump.into_actor(self))
    }

    /// Ends the current subscription: cancels the consumer, stops the pump, and closes the
    /// channel once the deliveries it holds are settled (unhandled ones return to the queue).
    fn end_subscription(&mut self, ctx: &mut Context<Self>, why: &str) {
        let Some(sub) = self.subscription.take() else {
            return;
        };
        ctx.cancel_future(sub.pump);
        self.set_running(false);
        let queue = self.config.queue.clone();
        let alive =
            self.conn.as_ref().map(|c| c.generation) == Some(sub.generation) && self.connected();
        let why = why.to_owned();
        actix::spawn(async move {
            if alive {
                let _ = sub
                    .channel
                    .basic_cancel(sub.tag.as_str().into(), BasicCancelOptions::default())
                    .await;
                let deadline = Instant::now() + Duration::from_secs(60);
                while sub.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                    actix::clock::sleep(Duration::from_millis(20)).await;
                }
            }
            let _ = sub.channel.close(200, "subscription ended".into()).await;
            tracing::debug!(%queue, %why, "subscription closed");
        });
    }

    /// Starts probing after a pause that grows while the breaker keeps re-opening soon after it
    /// closed (a dependency that is only partly back), so that flapping cannot burn attempts.
    fn start_probing(&mut self, ctx: &mut Context<Self>) -> Option<Duration> {
        let breaker = self.breaker.as_ref()?;
        if self.probing.is_some() {
            return None;
        }
        let flapping = self.resumed_at.is_some_and(|t| t.elapsed() < FLAP_WINDOW);
        let first = if flapping {
            self.probe_backoff.next_delay()
        } else {
            self.probe_backoff.reset();
            breaker.probe_every
        };
        self.probe_after(first, ctx);
        Some(first)
    }

    fn probe_after(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        let handle = ctx.run_later(delay, |act, ctx| {
            let Some(breaker) = act.breaker.clone() else {
                return;
            };
            if !act.paused || act.stopping {
                act.probing = None;
                return;
            }
            let ask = async move { breaker.probe.ask(ProbeReady).await.unwrap_or(false) };
            ctx.spawn(ask.into_actor(act).map(move |ready, act, ctx| {
                act.probing = None;
                if !act.paused || act.stopping {
                    return;
                }
                if !ready {
                    act.probe_after(breaker.probe_every, ctx);
                    return;
                }
                act.resumed_at = Some(Instant::now());
                act.shared.consecutive_retries.store(0, Ordering::SeqCst);
                act.set_paused(false);
                tracing::info!(queue = %act.config.queue, "circuit breaker closed: the dependency is back, consuming again");
                act.subscribe(ctx);
            }));
        });
        self.probing = Some(handle);
    }
}

/// Hands a delivery back to the broker without handling it (no attempt is used up).
async fn give_back(delivery: &Delivery, queue: &str) {
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

async fn settle(
    delivery: Delivery,
    handler: &Port<HandleDelivery>,
    publisher: &ActorRef<Publisher>,
    config: &ConsumerConfig,
    shared: &Shared,
    trip: Option<&(u32, Recipient<Trip>)>,
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
    let metrics = amqp_metrics();
    let queue = config.queue.as_str();
    if matches!(disposition, Disposition::Retry { .. }) {
        let failures = shared.consecutive_retries.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((trip_after, trip)) = trip
            && failures >= *trip_after
            && !shared.paused.swap(true, Ordering::SeqCst)
        {
            // Open at once, so that the deliveries failing right now alongside this one are
            // handed back; the actor then cancels the subscription and starts probing.
            trip.do_send(Trip);
        }
        // The breaker is open: the failure is the dependency's, not the message's. Hand it
        // back without using up an attempt; it is handled once the consumer resumes.
        if shared.paused.load(Ordering::SeqCst) {
            give_back(&delivery, queue).await;
            return;
        }
    } else {
        shared.consecutive_retries.store(0, Ordering::SeqCst);
    }
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
            metrics.delivery(queue, "dead_letter");
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
    if let Some(publish) = republish
        && let Err(error) = publisher
            .ask(publish)
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
    {
        // Could not park it elsewhere: put it back, after a pause so that a publisher that
        // is briefly without a channel cannot turn this into a hot requeue loop.
        tracing::warn!(%queue, %error, "re-publish for retry/dead-letter failed; requeueing");
        actix::clock::sleep(Duration::from_secs(1)).await;
        metrics.delivery(queue, "requeue");
        let _ = delivery
            .acker
            .nack(BasicNackOptions {
                requeue: true,
                multiple: false,
            })
            .await;
        return;
    }
    metrics.delivery(queue, outcome);
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
        paused_gauge()
            .with_label_values(&[self.config.queue.as_str()])
            .set(i64::from(self.paused));
        amqp_metrics().touch_queue(&self.config.queue);
        self.manager.tell(Subscribe(ctx.address().recipient()));
        ctx.run_interval(super::watchdog::WATCH_EVERY, |act, _| {
            if let Some(sub) = act.subscription.as_ref().filter(|_| !act.stopping) {
                super::watchdog::check_queue(sub.channel.clone(), act.config.queue.clone());
            }
        });
        if self.paused {
            let _ = self.start_probing(ctx);
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.set_running(false);
    }
}

impl Supervised for QueueConsumer {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // The old context's futures (pump, probe) are gone; the channel is closed so that what
        // it held goes back to the queue, and the consumer subscribes from scratch.
        if let Some(sub) = self.subscription.take() {
            actix::spawn(async move {
                let _ = sub.channel.close(200, "consumer restarting".into()).await;
            });
        }
        self.set_running(false);
        self.subscribing = None;
        self.probing = None;
        self.conn = None;
    }
}

impl Handler<ConnectionEvent> for QueueConsumer {
    type Result = ();

    fn handle(&mut self, event: ConnectionEvent, ctx: &mut Context<Self>) {
        match event {
            ConnectionEvent::Up(conn) => {
                if self.conn.as_ref().map(|c| c.generation) == Some(conn.generation) {
                    return; // already announced
                }
                self.end_subscription(ctx, "new connection");
                self.subscribing = None; // an attempt on the old connection is stale
                self.conn = Some(conn);
                self.resubscribe.reset();
                self.subscribe(ctx);
            }
            ConnectionEvent::Down { .. } => {
                self.conn = None;
                self.subscribing = None;
                self.end_subscription(ctx, "connection lost");
            }
        }
    }
}

impl Handler<StreamEnded> for QueueConsumer {
    type Result = ();

    fn handle(&mut self, msg: StreamEnded, ctx: &mut Context<Self>) {
        if self.subscription.as_ref().map(|s| s.id) != Some(msg.id) {
            return; // an old subscription's stream
        }
        self.end_subscription(ctx, "stream ended");
        if self.stopping || self.paused {
            return;
        }
        if self.connected() {
            // The broker cancelled us (`basic.cancel`: queue deleted, or its leader moved) or
            // closed the channel: declare the topology again and subscribe anew.
            tracing::warn!(queue = %self.config.queue, error = ?msg.error, "consumer cancelled by the broker; subscribing again");
            self.retry_subscribe(ctx);
        }
        // Otherwise the connection is going down: `Up` subscribes again.
    }
}

impl Handler<Trip> for QueueConsumer {
    type Result = ();

    fn handle(&mut self, _: Trip, ctx: &mut Context<Self>) {
        // (While stopping, `shared.paused` stays set: what still fails is handed back.)
        if self.paused || self.stopping || self.breaker.is_none() {
            return;
        }
        let failures = self.shared.consecutive_retries.load(Ordering::SeqCst);
        self.set_paused(true);
        self.end_subscription(ctx, "circuit breaker open");
        let pause = self.start_probing(ctx).unwrap_or_default();
        tracing::warn!(
            queue = %self.config.queue,
            failures,
            pause_ms = pause.as_millis() as u64,
            "circuit breaker open: pausing consumption until the dependency is back"
        );
    }
}

impl Handler<StopConsuming> for QueueConsumer {
    type Result = ResponseFuture<usize>;

    fn handle(&mut self, msg: StopConsuming, ctx: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(handle) = self.probing.take() {
            ctx.cancel_future(handle);
        }
        self.end_subscription(ctx, "stopping");
        let shared = self.shared.clone();
        Box::pin(async move {
            let deadline = Instant::now() + msg.deadline;
            while shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                actix::clock::sleep(Duration::from_millis(10)).await;
            }
            shared.in_flight.load(Ordering::SeqCst)
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
