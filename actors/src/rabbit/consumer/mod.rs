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
//! handed back unhandled, and a probe decides when to resume. A watchdog (`watch.rs`) ends a
//! subscription whose queue vanished without a `basic.cancel`, and renews one that has been idle
//! for a while (the broker can forget a consumer without telling it).
//!
//! The parts change for different reasons: `subscription.rs` (lifecycle), `breaker.rs` (pausing
//! on a failing dependency), `decision.rs` (what becomes of a delivery: pure) and `settle.rs`
//! (carrying that out against the broker).

mod breaker;
mod decision;
mod settle;
mod subscription;
mod watch;

pub use breaker::{Breaker, ProbeReady};

use super::ConnectionManager;
use super::connection::{AmqpConnection, Subscribe};
use super::headers::get_str;
use super::publisher::Publisher;
use super::topology::WorkQueue;
use crate::actor_ref::{ActorRef, Port};
use crate::backoff_policy::Backoff;
use crate::instrument::Outcome;
use crate::metrics::amqp_metrics;
use actix::prelude::*;
use breaker::{MAX_PAUSE, Trip, paused_gauge};
use lapin::BasicProperties;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use subscription::Subscription;

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
    /// Renew a subscription that has had no delivery for this long (see `watch.rs`). `None` for
    /// a queue that must not lose its consumer even for a moment (an exclusive, auto-delete
    /// reply queue is deleted with its last consumer).
    pub renew_when_idle: Option<Duration>,
}

/// Stop taking deliveries, wait for those in flight to be settled (up to `deadline`).
/// Replies with how many were still in flight when it gave up (0 = clean).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct StopConsuming {
    pub deadline: Duration,
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
}

impl Actor for QueueConsumer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        paused_gauge()
            .with_label_values(&[self.config.queue.as_str()])
            .set(i64::from(self.paused));
        amqp_metrics().touch_queue(&self.config.queue);
        self.manager.tell(Subscribe(ctx.address().recipient()));
        ctx.run_interval(super::watchdog::WATCH_EVERY, |act, ctx| act.watch(ctx));
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

impl Handler<StopConsuming> for QueueConsumer {
    type Result = ResponseFuture<usize>;

    fn handle(&mut self, msg: StopConsuming, ctx: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(handle) = self.probing.take() {
            ctx.cancel_future(handle);
        }
        let closing = self.end_subscription(ctx, "stopping");
        let shared = self.shared.clone();
        Box::pin(async move {
            let deadline = Instant::now() + msg.deadline;
            while shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                actix::clock::sleep(Duration::from_millis(10)).await;
            }
            // Reply only once the channel is closed, so the caller can close the connection next.
            if let Some(closing) = closing {
                let left = deadline.saturating_duration_since(Instant::now());
                let _ = actix::clock::timeout(left, closing).await;
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
