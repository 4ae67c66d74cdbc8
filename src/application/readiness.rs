//! The readiness port: may this process take traffic? HTTP asks it (`/ready`); an adapter
//! (`infrastructure::health::HealthProbe`) answers by probing PostgreSQL and RabbitMQ.

use actix::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub postgres: bool,
    pub rabbitmq: bool,
    /// Workers cannot work without the broker; the API can (commands wait in the outbox), so
    /// for the API a broker outage is "degraded", not "unready".
    pub broker_required: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.postgres && (self.rabbitmq || !self.broker_required)
    }
}

impl ::actors::Outcome for Readiness {
    fn is_ok(&self) -> bool {
        self.ready()
    }
}

#[derive(Message)]
#[rtype(result = "Readiness")]
pub struct CheckReadiness;

/// Lets any actor answer [`CheckReadiness`] with a plain `Readiness`.
impl<A: Actor> actix::dev::MessageResponse<A, CheckReadiness> for Readiness {
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<Readiness>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}
