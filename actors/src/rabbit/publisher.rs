//! A publisher actor: one long-lived confirm-mode channel, a bounded window of unconfirmed
//! publishes, and a reply only once the broker has confirmed (or refused) each message.
//!
//! Its `ConnectionEvent` handler looks like the consumer's (`consumer/subscription.rs`) and is kept
//! apart on purpose: what they share is three lines of actix handler boilerplate (ignore an `Up`
//! already seen, remember or forget the connection, mark an open attempt stale), while what each
//! does with the event differs — the publisher just drops its channel, the consumer drains its
//! in-flight deliveries before closing, resets its resubscribe backoff and re-subscribes. A shared
//! trait or helper would hide that difference behind an indirection without removing a branch.

use super::ConnectionManager;
use super::connection::{AmqpConnection, ConnectionEvent, Subscribe};
use crate::actor_ref::ActorRef;
use crate::error_chain::ErrorChain;
use crate::metrics::amqp_metrics;
use actix::prelude::*;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to the broker")]
    NotConnected,
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("no queue is bound for exchange {exchange:?} and routing key {routing_key:?}")]
    Unroutable {
        exchange: String,
        routing_key: String,
    },
    #[error("AMQP error: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("the broker did not confirm within {0:?}")]
    Timeout(Duration),
}

/// Why the publisher could not open its confirm channel (logged, then retried).
#[derive(Debug, thiserror::Error)]
enum OpenChannelError {
    #[error("could not open a confirm channel")]
    Amqp(#[from] lapin::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// A publish the broker has not confirmed in this time is reported as failed (the caller still
/// owns the message: the outbox row stays unpublished, a consumer requeues its delivery), so a
/// connection that died silently cannot hang a caller forever.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Message, Clone)]
#[rtype(result = "Result<(), PublishError>")]
pub struct Publish {
    pub exchange: String,
    pub routing_key: String,
    pub payload: Vec<u8>,
    pub properties: BasicProperties,
    /// Unroutable messages come back as an error instead of vanishing.
    pub mandatory: bool,
}

impl Publish {
    /// A persistent message (delivery mode 2) on a durable path.
    pub fn persistent(
        exchange: impl Into<String>,
        routing_key: impl Into<String>,
        payload: Vec<u8>,
    ) -> Self {
        Self {
            exchange: exchange.into(),
            routing_key: routing_key.into(),
            payload,
            properties: BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into()),
            mandatory: true,
        }
    }
}

pub struct Publisher {
    manager: ActorRef<ConnectionManager>,
    conn: Option<AmqpConnection>,
    channel: Option<Channel>,
    /// The channel-open attempt in progress, if any (a stale attempt must not clear a newer one's).
    opening: Option<u64>,
    attempts: u64,
    /// Bounds unconfirmed publishes so a slow broker pushes back instead of filling memory.
    window: Arc<Semaphore>,
}

impl Publisher {
    pub fn new(manager: ActorRef<ConnectionManager>, window: usize) -> Self {
        Self {
            manager,
            conn: None,
            channel: None,
            opening: None,
            attempts: 0,
            window: Arc::new(Semaphore::new(window)),
        }
    }

    fn open_channel(&mut self, ctx: &mut Context<Self>) {
        let Some(conn) = self.conn.clone() else {
            return;
        };
        if self.opening.is_some() {
            return;
        }
        self.attempts += 1;
        let attempt = self.attempts;
        self.opening = Some(attempt);
        let generation = conn.generation;
        let open = async move {
            let open = async {
                let channel = conn.create_channel().await?;
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                Ok::<_, OpenChannelError>(channel)
            };
            match tokio::time::timeout(CONFIRM_TIMEOUT, open).await {
                Ok(result) => result,
                Err(_) => Err(OpenChannelError::Timeout(CONFIRM_TIMEOUT)),
            }
        };
        ctx.spawn(open.into_actor(self).map(move |result, act, ctx| {
            if act.opening == Some(attempt) {
                act.opening = None;
            }
            let current = act.conn.as_ref().map(|c| c.generation) == Some(generation);
            match result {
                Ok(channel) if current && act.channel.is_none() => act.channel = Some(channel),
                Ok(channel) => {
                    actix::spawn(async move {
                        let _ = channel.close(200, "stale".into()).await;
                    });
                }
                // Try again while this connection lasts; without a channel every
                // publish would fail until the next reconnect.
                Err(error) if current => {
                    tracing::warn!(error = %ErrorChain(&error), "could not open a publisher channel; retrying");
                    ctx.run_later(Duration::from_millis(500), |act, ctx| {
                        if act.channel.is_none() {
                            act.open_channel(ctx);
                        }
                    });
                }
                Err(_) => {}
            }
        }));
    }
}

impl Actor for Publisher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.manager.tell(Subscribe(ctx.address().recipient()));
    }
}

impl Supervised for Publisher {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.channel = None;
        self.conn = None;
        self.opening = None;
    }
}

impl Handler<ConnectionEvent> for Publisher {
    type Result = ();

    fn handle(&mut self, event: ConnectionEvent, ctx: &mut Context<Self>) {
        match event {
            ConnectionEvent::Up(conn) => {
                if self.conn.as_ref().map(|c| c.generation) == Some(conn.generation) {
                    return; // already announced
                }
                self.conn = Some(conn);
                self.channel = None;
                self.opening = None; // an attempt on the old connection is stale
                self.open_channel(ctx);
            }
            ConnectionEvent::Down { .. } => {
                self.conn = None;
                self.channel = None;
                self.opening = None;
            }
        }
    }
}

impl Handler<Publish> for Publisher {
    type Result = ResponseActFuture<Self, Result<(), PublishError>>;

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) -> Self::Result {
        // A channel the broker closed (e.g. after publishing to a missing exchange) is replaced.
        if self
            .channel
            .as_ref()
            .is_some_and(|c| !c.status().connected())
        {
            self.channel = None;
        }
        if self.channel.is_none() {
            self.open_channel(ctx);
        }
        let channel = self.channel.clone();
        let window = self.window.clone();
        // Retries, dead letters and replies go through the default exchange, named by queue.
        let destination = if msg.exchange.is_empty() {
            msg.routing_key.clone()
        } else {
            msg.exchange.clone()
        };
        let publish = async move {
            let channel = channel.ok_or(PublishError::NotConnected)?;
            let _permit = window
                .acquire_owned()
                .await
                .map_err(|_| PublishError::NotConnected)?;
            let options = BasicPublishOptions {
                mandatory: msg.mandatory,
                ..Default::default()
            };
            let publish = async {
                channel
                    .basic_publish(
                        msg.exchange.as_str().into(),
                        msg.routing_key.as_str().into(),
                        options,
                        &msg.payload,
                        msg.properties,
                    )
                    .await?
                    .await
            };
            let confirm = tokio::time::timeout(CONFIRM_TIMEOUT, publish)
                .await
                .map_err(|_| PublishError::Timeout(CONFIRM_TIMEOUT))??;
            match confirm {
                Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
                Confirmation::Ack(Some(_returned)) => Err(PublishError::Unroutable {
                    exchange: msg.exchange,
                    routing_key: msg.routing_key,
                }),
                Confirmation::Nack(_) => Err(PublishError::Nacked),
            }
        };
        Box::pin(
            publish
                .into_actor(self)
                .map(move |result: Result<(), PublishError>, _, _| {
                    let outcome = match &result {
                        Ok(()) => "confirmed",
                        Err(PublishError::Nacked) => "nacked",
                        Err(_) => "failed",
                    };
                    let metrics = amqp_metrics();
                    metrics.published.with_label_values(&[outcome]).inc();
                    metrics
                        .messages_published
                        .with_label_values(&[&destination, outcome])
                        .inc();
                    result
                }),
        )
    }
}

/// Shutdown, just before the connection closes: close the confirm channel now (waiting for the
/// broker's close-ok) and open no other on this connection. Closing it first matters: a channel
/// still closing when the connection's close begins is reported by lapin as a connection error.
/// A publish after this fails with `NotConnected`; its outbox row stays for the next relay.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseChannel;

impl Handler<ReleaseChannel> for Publisher {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: ReleaseChannel, _: &mut Context<Self>) -> Self::Result {
        self.conn = None;
        self.opening = None;
        let channel = self.channel.take();
        Box::pin(async move {
            if let Some(channel) = channel {
                let closing = channel.close(200, "shutting down".into());
                let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;
            }
        })
    }
}

crate::instrument!(Publisher: Publish, ReleaseChannel);
