//! The consumer's periodic check (every [`WATCH_EVERY`]): is the subscription still real?
//!
//! Two ways a subscription can be dead while its channel looks fine:
//! - Its queue is gone and no `basic.cancel` came: `watchdog::check_queue` notices (a passive
//!   declare fails and closes the channel, which ends the subscription).
//! - Its queue is there, but the broker has forgotten this consumer. Seen on RabbitMQ 3.10 with
//!   quorum queues (the chaos suite's broker-cancel scenario, 1 to 3 deletions in 100): a worker
//!   subscribed a moment before the queue was deleted; its channel kept the consumer and got no
//!   `basic.cancel`, while the other workers, cancelled, declared the queue again, so the
//!   passive declare succeeds. The queue lists two consumers of three; the third waits forever.
//!   AMQP offers no way to ask "does the queue know my consumer tag?", so a subscription that
//!   has had no delivery for `renew_when_idle` is renewed: ended (nothing in flight, so nothing
//!   to hand back) and started again. A forgotten consumer gets no deliveries, so it is idle by
//!   definition and comes back within `renew_when_idle` + [`WATCH_EVERY`]; a busy one is never
//!   touched. An idle one costs a channel and two queue operations per period.
//!
//! [`WATCH_EVERY`]: crate::rabbit::watchdog::WATCH_EVERY

use super::QueueConsumer;
use super::subscription::Subscription;
use crate::metrics::amqp_metrics;
use crate::rabbit::watchdog::check_queue;
use actix::prelude::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl QueueConsumer {
    pub(super) fn watch(&mut self, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        let Some(sub) = self.subscription.as_mut() else {
            return;
        };
        let Some(after) = self
            .config
            .renew_when_idle
            .filter(|after| sub.idle_for(*after))
        else {
            check_queue(sub.channel.clone(), self.config.queue.clone());
            return;
        };
        // Renewing: the new subscription finds out for itself whether the queue is still there.
        tracing::debug!(queue = %self.config.queue, "no delivery for {after:?}: renewing the subscription");
        amqp_metrics().subscription_restarted(&self.config.queue, "idle_renewal");
        let _ = self.end_subscription(ctx, "renewed while idle");
        self.subscribe(ctx);
    }
}

impl Subscription {
    /// Whether nothing was delivered or in flight for `after`; a delivery or one in flight
    /// since the last look starts the count again.
    fn idle_for(&mut self, after: Duration) -> bool {
        let delivered = self.delivered.load(Ordering::Relaxed);
        if delivered != self.seen || self.in_flight.load(Ordering::SeqCst) > 0 {
            self.seen = delivered;
            self.idle_since = Instant::now();
            return false;
        }
        self.idle_since.elapsed() >= after
    }
}
