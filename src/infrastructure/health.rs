//! The readiness probe: can we reach PostgreSQL and RabbitMQ right now? It answers the
//! application's readiness port ([`crate::application::readiness::CheckReadiness`]).

use crate::application::readiness::{CheckReadiness, Readiness};

use ::actors::ActorRef;
use ::actors::rabbit::{ConnectionManager, ConnectionStatus, ProbeReady};
use actix::prelude::*;
use sqlx::PgPool;
use std::time::Duration;

pub struct HealthProbe {
    pool: PgPool,
    amqp: ActorRef<ConnectionManager>,
    broker_required: bool,
}

impl HealthProbe {
    pub fn new(pool: PgPool, amqp: ActorRef<ConnectionManager>) -> Self {
        Self {
            pool,
            amqp,
            broker_required: true,
        }
    }

    /// Whether this process is unready (rather than degraded) without the broker.
    pub fn broker_required(mut self, required: bool) -> Self {
        self.broker_required = required;
        self
    }
}

async fn postgres_ok(pool: &PgPool) -> bool {
    let ping = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(pool),
    );
    matches!(ping.await, Ok(Ok(_)))
}

impl Actor for HealthProbe {
    type Context = Context<Self>;
}

impl Supervised for HealthProbe {}

impl Handler<CheckReadiness> for HealthProbe {
    type Result = ResponseFuture<Readiness>;

    fn handle(&mut self, _: CheckReadiness, _: &mut Context<Self>) -> Self::Result {
        let (pool, amqp, broker_required) =
            (self.pool.clone(), self.amqp.clone(), self.broker_required);
        Box::pin(async move {
            let (pg, mq) = tokio::join!(postgres_ok(&pool), amqp.ask(ConnectionStatus));
            Readiness {
                postgres: pg,
                rabbitmq: mq.unwrap_or(false),
                broker_required,
            }
        })
    }
}

/// The workers' circuit breaker asks this before consuming again: is PostgreSQL back?
impl Handler<ProbeReady> for HealthProbe {
    type Result = ResponseFuture<bool>;

    fn handle(&mut self, _: ProbeReady, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move { postgres_ok(&pool).await })
    }
}

::actors::instrument!(HealthProbe: CheckReadiness, ProbeReady);
