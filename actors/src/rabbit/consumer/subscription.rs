//! The subscription lifecycle: subscribe whenever the connection comes up, pump each delivery
//! into its own settling task, and rebuild the subscription from scratch whenever it ends — the
//! connection went down, the broker cancelled it (`basic.cancel`, e.g. the queue was deleted),
//! or the watchdog found its queue gone (`watch.rs`, which also renews an idle subscription).
//!
//! The `ConnectionEvent` handler resembles the publisher's (`publisher.rs`), deliberately not
//! shared: the common part is actix handler boilerplate (skip an `Up` already seen, forget a stale
//! attempt); the rest — ending a subscription gracefully, backoff reset, re-subscribing — is the
//! consumer's own (see the note at the top of `publisher.rs`).

use super::settle::{give_back, settle};
use super::{QueueConsumer, Trip};
use crate::error_chain::ErrorChain;
use crate::metrics::amqp_metrics;
use crate::rabbit::connection::{ConnectionEvent, Redeclare};
use actix::prelude::*;
use futures_util::StreamExt;
use lapin::Channel;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Opening a channel and subscribing on it; longer means the connection is not really there.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a subscribe attempt failed (logged, then retried).
#[derive(Debug, thiserror::Error)]
enum SubscribeError {
    #[error("could not open a channel")]
    Channel(#[source] lapin::Error),
    #[error("could not subscribe to the queue")]
    Consume(#[source] lapin::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// A subscription's delivery stream ended (broker cancel, channel or connection closed).
#[derive(Message)]
#[rtype(result = "()")]
struct StreamEnded {
    id: u64,
    error: Option<lapin::Error>,
}

pub(super) struct Subscription {
    id: u64,
    generation: u64,
    pub(super) channel: Channel,
    tag: String,
    pump: SpawnHandle,
    /// Deliveries of this channel not yet settled: the channel is closed only when it is 0,
    /// so that their acks still reach the broker.
    pub(super) in_flight: Arc<AtomicUsize>,
    /// Deliveries received on this subscription so far (the watchdog's sign of life).
    pub(super) delivered: Arc<AtomicU64>,
    /// `delivered` as the watchdog last saw it, and since when it has not moved.
    pub(super) seen: u64,
    pub(super) idle_since: Instant,
}

impl QueueConsumer {
    pub(super) fn set_running(&mut self, running: bool) {
        if self.running != running {
            self.running = running;
            if running {
                amqp_metrics().consumers_running.inc();
            } else {
                amqp_metrics().consumers_running.dec();
            }
        }
    }

    pub(super) fn connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_connected())
    }

    pub(super) fn subscribe(&mut self, ctx: &mut Context<Self>) {
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
                let channel = conn
                    .create_channel()
                    .await
                    .map_err(SubscribeError::Channel)?;
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
                        Err(SubscribeError::Consume(error))
                    }
                }
            };
            // A connection that died silently must not leave the consumer "subscribing" forever.
            async move {
                match tokio::time::timeout(SUBSCRIBE_TIMEOUT, open).await {
                    Ok(Ok(subscribed)) => Ok(subscribed),
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(SubscribeError::Timeout(SUBSCRIBE_TIMEOUT)),
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
                    let delivered = Arc::new(AtomicU64::new(0));
                    let pump = act.pump(id, consumer, in_flight.clone(), delivered.clone(), ctx);
                    act.subscription = Some(Subscription {
                        id,
                        generation,
                        channel,
                        tag,
                        pump,
                        in_flight,
                        delivered,
                        seen: 0,
                        idle_since: Instant::now(),
                    });
                    act.set_running(true);
                    tracing::info!(queue = %act.config.queue, "consuming");
                }
                Err(error) => {
                    tracing::warn!(queue = %act.config.queue, error = %ErrorChain(&error), "could not subscribe; retrying");
                    if act.subscribing.is_none() {
                        act.retry_subscribe(ctx);
                    }
                }
            }
        }));
    }

    /// Subscribes again after a pause; the queue may be gone (deleted by an operator, or a
    /// broker that lost its definitions), so the topology is declared first.
    pub(super) fn retry_subscribe(&mut self, ctx: &mut Context<Self>) {
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
                        tracing::warn!(queue = %act.config.queue, error = %ErrorChain(&error), "could not redeclare the topology")
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
        delivered: Arc<AtomicU64>,
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
                        error = Some(e);
                        break;
                    }
                };
                delivered.fetch_add(1, Ordering::Relaxed);
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
    ///
    /// Returns the task that closes the channel, for a caller that must wait for it (a shutdown:
    /// the connection must not close under a channel that is still closing, or lapin reports the
    /// overlap as a connection error).
    pub(super) fn end_subscription(
        &mut self,
        ctx: &mut Context<Self>,
        why: &str,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let sub = self.subscription.take()?;
        ctx.cancel_future(sub.pump);
        self.set_running(false);
        let queue = self.config.queue.clone();
        let alive =
            self.conn.as_ref().map(|c| c.generation) == Some(sub.generation) && self.connected();
        let why = why.to_owned();
        Some(actix::spawn(async move {
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
        }))
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
                let _ = self.end_subscription(ctx, "new connection");
                self.subscribing = None; // an attempt on the old connection is stale
                self.conn = Some(conn);
                self.resubscribe.reset();
                self.subscribe(ctx);
            }
            ConnectionEvent::Down { .. } => {
                self.conn = None;
                self.subscribing = None;
                let _ = self.end_subscription(ctx, "connection lost");
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
        let _ = self.end_subscription(ctx, "stream ended");
        if self.stopping || self.paused {
            return;
        }
        if self.connected() {
            amqp_metrics().subscription_restarted(&self.config.queue, "cancelled");
            // The broker cancelled us (`basic.cancel`: queue deleted, or its leader moved) or
            // closed the channel: declare the topology again and subscribe anew.
            tracing::warn!(queue = %self.config.queue, error = msg.error.as_ref().map(|e| tracing::field::display(ErrorChain(e))), "consumer cancelled by the broker; subscribing again");
            self.retry_subscribe(ctx);
        }
        // Otherwise the connection is going down: `Up` subscribes again.
    }
}
