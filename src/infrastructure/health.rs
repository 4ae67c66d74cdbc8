//! Readiness: can we reach PostgreSQL and RabbitMQ right now?

use ::actors::ActorRef;
use ::actors::rabbit::{ConnectionManager, ConnectionStatus};
use actix::prelude::*;
use sqlx::PgPool;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub postgres: bool,
    pub rabbitmq: bool,
}

impl ::actors::Outcome for Readiness {
    fn is_ok(&self) -> bool {
        self.postgres && self.rabbitmq
    }
}

#[derive(Message)]
#[rtype(result = "Readiness")]
pub struct CheckReadiness;

pub struct HealthProbe {
    pool: PgPool,
    amqp: ActorRef<ConnectionManager>,
}

impl HealthProbe {
    pub fn new(pool: PgPool, amqp: ActorRef<ConnectionManager>) -> Self {
        Self { pool, amqp }
    }
}

impl Actor for HealthProbe {
    type Context = Context<Self>;
}

impl Supervised for HealthProbe {}

impl Handler<CheckReadiness> for HealthProbe {
    type Result = ResponseFuture<Readiness>;

    fn handle(&mut self, _: CheckReadiness, _: &mut Context<Self>) -> Self::Result {
        let (pool, amqp) = (self.pool.clone(), self.amqp.clone());
        Box::pin(async move {
            let pg = tokio::time::timeout(
                Duration::from_secs(2),
                sqlx::query("SELECT 1").execute(&pool),
            );
            let (pg, mq) = tokio::join!(pg, amqp.ask(ConnectionStatus));
            Readiness {
                postgres: matches!(pg, Ok(Ok(_))),
                rabbitmq: mq.unwrap_or(false),
            }
        })
    }
}

impl<A: Actor> actix::dev::MessageResponse<A, CheckReadiness> for Readiness {
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<Readiness>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

::actors::instrument!(HealthProbe: CheckReadiness);
