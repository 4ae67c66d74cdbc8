//! The consumer's circuit breaker: after a run of transient failures (a dependency such as the
//! database is down) the subscription is paused, deliveries still held are handed back
//! unhandled, and a probe decides when to resume.

use super::QueueConsumer;
use crate::actor_ref::Port;
use actix::prelude::*;
use prometheus::{IntGaugeVec, Opts, register_int_gauge_vec};
use std::sync::LazyLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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

impl Breaker {
    /// The default thresholds: five transient failures in a row is no longer bad
    /// luck (a retry tier absorbs fewer), and probing twice a second resumes within half a second
    /// of the dependency's return without loading it while it is down.
    pub fn new(probe: Port<ProbeReady>) -> Self {
        Self {
            trip_after: 5,
            probe,
            probe_every: Duration::from_millis(500),
        }
    }
}

/// A breaker that opens again within this time after closing is flapping: its next pause is longer.
const FLAP_WINDOW: Duration = Duration::from_secs(10);
/// The longest pause before a flapping breaker probes again.
pub(super) const MAX_PAUSE: Duration = Duration::from_secs(30);

/// The breaker has seen enough consecutive transient failures.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Trip;

/// 1 while a queue's consumer is paused by its circuit breaker.
pub(super) fn paused_gauge() -> &'static IntGaugeVec {
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

impl QueueConsumer {
    fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        self.shared.paused.store(paused, Ordering::SeqCst);
        paused_gauge()
            .with_label_values(&[self.config.queue.as_str()])
            .set(i64::from(paused));
    }

    /// Starts probing after a pause that grows while the breaker keeps re-opening soon after it
    /// closed (a dependency that is only partly back), so that flapping cannot burn attempts.
    pub(super) fn start_probing(&mut self, ctx: &mut Context<Self>) -> Option<Duration> {
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

impl Handler<Trip> for QueueConsumer {
    type Result = ();

    fn handle(&mut self, _: Trip, ctx: &mut Context<Self>) {
        // (While stopping, `shared.paused` stays set: what still fails is handed back.)
        if self.paused || self.stopping || self.breaker.is_none() {
            return;
        }
        let failures = self.shared.consecutive_retries.load(Ordering::SeqCst);
        self.set_paused(true);
        let _ = self.end_subscription(ctx, "circuit breaker open");
        let pause = self.start_probing(ctx).unwrap_or_default();
        tracing::warn!(
            queue = %self.config.queue,
            failures,
            pause_ms = pause.as_millis() as u64,
            "circuit breaker open: pausing consumption until the dependency is back"
        );
    }
}
