//! The sampling actors behind the gauges that no request moves: `queue_depth{queue}` (the
//! runtime's `QueueMonitor`), the database pool and `active_users_total` (`PoolMonitor`).

use super::postgres::pool_monitor::PoolMonitor;
use ::actors::rabbit::{ConnectionManager, QueueMonitor};
use ::actors::{ActorRef, Restart, SupervisorRef};
use actix::ArbiterHandle;
use std::time::Duration;

#[allow(clippy::too_many_arguments)]
pub fn start(
    persistence: &SupervisorRef,
    messaging: &SupervisorRef,
    io: &ArbiterHandle,
    amqp: &ArbiterHandle,
    pool: &sqlx::PgPool,
    manager: &ActorRef<ConnectionManager>,
    queues: Vec<String>,
    every: Duration,
) {
    let pool = pool.clone();
    persistence.spawn("pool-monitor", io, Restart::Permanent, move || {
        PoolMonitor::new(pool, every)
    });
    let manager = manager.clone();
    messaging.spawn("queue-monitor", amqp, Restart::Permanent, move || {
        QueueMonitor::new(manager, queues, every)
    });
}
