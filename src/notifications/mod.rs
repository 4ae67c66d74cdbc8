//! The notifications bounded context: welcomes every new user.
//!
//! It shares no code with the users context: what it knows of users is the public `UserCreated`
//! event contract (JSON on the event exchange), read into its own type. It has its own durable
//! queue bound to the event exchange (`<prefix>.notifications.user-created`, with a DLQ and the
//! retry tiers), its own table, and a [`welcome::SendWelcome`] port, so that SMTP (or anything
//! else) can replace the recording sender without touching the consumer.
//!
//! Delivery is at least once (the outbox may publish an event twice, a worker may die before
//! its ack), so the sender is idempotent by event id: a welcome is recorded and logged once.
//!
//! ```text
//! <prefix>.events --users.user.created--> <prefix>.notifications.user-created
//!     --> QueueConsumer --HandleDelivery--> UserCreatedHandler --SendWelcome--> RecordingWelcomeSender
//! ```

pub mod handler;
pub mod sender;
pub mod welcome;

use crate::infrastructure::messaging::names::Names;
use ::actors::rabbit::{
    Breaker, ConnectionManager, ConsumerConfig, ProbeReady, Publisher, QueueConsumer, RetryRoute,
};
use ::actors::{ActorRef, Port, Restart, SupervisorRef};
use actix::ArbiterHandle;
use sqlx::PgPool;
use std::time::Duration;

/// Routing key of `UserCreated` on the event exchange.
pub const USER_CREATED_KEY: &str = "users.user.created";

/// What the notifications context needs from the process it runs in.
pub struct Wiring<'a> {
    pub supervisor: &'a SupervisorRef,
    pub io: &'a ArbiterHandle,
    pub amqp: &'a ArbiterHandle,
    pub pool: PgPool,
    pub names: &'a Names,
    pub retry_tiers: &'a [Duration],
    pub max_attempts: u32,
    pub prefetch: u16,
    pub manager: ActorRef<ConnectionManager>,
    pub publisher: ActorRef<Publisher>,
    /// Answers whether the database is usable (the consumer's circuit breaker).
    pub database_probe: Port<ProbeReady>,
}

/// Starts the sender, the handler and the queue consumer under `supervisor`; returns the
/// consumer (for graceful shutdown).
pub fn start(w: Wiring<'_>) -> ActorRef<QueueConsumer> {
    let sender = {
        let pool = w.pool.clone();
        w.supervisor
            .spawn("welcome-sender", w.io, Restart::Permanent, move || {
                sender::RecordingWelcomeSender::new(pool)
            })
    };
    let handler = {
        let sender = sender.port();
        w.supervisor.spawn(
            "user-created-handler",
            w.io,
            Restart::Permanent,
            move || handler::UserCreatedHandler::new(sender),
        )
    };
    let config = ConsumerConfig {
        queue: w.names.notifications_queue.clone(),
        prefetch: w.prefetch,
        retry: Some(RetryRoute {
            work: w.names.notifications_work_queue(w.retry_tiers),
            max_attempts: w.max_attempts,
        }),
    };
    let breaker = Breaker {
        trip_after: 5,
        probe: w.database_probe,
        probe_every: Duration::from_millis(500),
    };
    let (manager, publisher, handler) = (w.manager, w.publisher, handler.port());
    w.supervisor.spawn(
        "notifications-consumer",
        w.amqp,
        Restart::Permanent,
        move || QueueConsumer::new(manager, publisher, handler, config).with_breaker(breaker),
    )
}
