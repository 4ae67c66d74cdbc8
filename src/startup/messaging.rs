//! The `messaging` supervisor: the process's one AMQP connection, its publisher and the queue
//! monitor, plus the
//! whole broker topology every process declares.

use super::ProcessRole;
use super::supervision::supervisor_config;
use super::threads::Threads;
use crate::config::Settings;
use crate::infrastructure::messaging::names::Names;
use ::actors::rabbit::{
    Breaker, ConnectionManager, ConsumerConfig, Endpoints, HandleDelivery, Publisher,
    QueueConsumer, QueueMonitor,
};
use ::actors::{ActorRef, Port, Restart, SupervisorRef};

pub(super) struct Messaging {
    pub supervisor: SupervisorRef,
    pub names: Names,
    pub manager: ActorRef<ConnectionManager>,
    pub publisher: ActorRef<Publisher>,
    /// This replica's exclusive reply queue (declared and consumed by API processes only).
    pub reply_queue: String,
    amqp: actix::ArbiterHandle,
}

/// Starts the `messaging` supervisor with the connection manager and the publisher, on the
/// AMQP thread. `replica` names this process's reply queue and connection.
pub(super) fn start(
    root: &SupervisorRef,
    settings: &Settings,
    threads: &Threads,
    role: ProcessRole,
    replica: &str,
) -> anyhow::Result<Messaging> {
    let supervisor = root.spawn_supervisor(supervisor_config("messaging", settings));
    let names = Names::new(&settings.messaging.amqp_prefix);
    let reply_queue = names.reply_queue(replica);
    let topology = topology(
        &names,
        &settings.messaging.retry_tiers,
        settings.messaging.queue_kind,
        role.api().then_some(reply_queue.as_str()),
    );
    let endpoints = Endpoints::parse(settings.messaging.rabbitmq_url.expose())?;
    let amqp_tls = settings.messaging.rabbitmq_tls.clone();
    let connection_name = format!("hexactor-{}-{replica}", role.name());
    let manager = supervisor.spawn(
        "amqp-connection",
        &threads.amqp,
        Restart::Permanent,
        move || ConnectionManager::new(endpoints, connection_name, topology).with_tls(amqp_tls),
    );
    let publisher = {
        let manager = manager.clone();
        supervisor.spawn("publisher", &threads.amqp, Restart::Permanent, move || {
            Publisher::new(manager, 256)
        })
    };
    // `queue_depth{queue}`: no request moves it, so it is sampled.
    {
        let manager = manager.clone();
        let queues = monitored_queues(&names, &settings.messaging.retry_tiers);
        let every = settings.runtime.monitor_interval;
        supervisor.spawn(
            "queue-monitor",
            &threads.amqp,
            Restart::Permanent,
            move || QueueMonitor::new(manager, queues, every),
        );
    }
    Ok(Messaging {
        supervisor,
        names,
        manager,
        publisher,
        reply_queue,
        amqp: threads.amqp.clone(),
    })
}

impl Messaging {
    /// Starts a queue consumer under `messaging`, on the AMQP thread.
    pub fn consumer(
        &self,
        name: &str,
        handler: Port<HandleDelivery>,
        config: ConsumerConfig,
        breaker: Option<Breaker>,
    ) -> ActorRef<QueueConsumer> {
        let (manager, publisher) = (self.manager.clone(), self.publisher.clone());
        self.supervisor
            .spawn(name, &self.amqp, Restart::Permanent, move || {
                let consumer = QueueConsumer::new(manager, publisher, handler, config);
                match breaker {
                    Some(breaker) => consumer.with_breaker(breaker),
                    None => consumer,
                }
            })
    }
}

/// The whole broker topology every process declares (idempotently) on each connect: the command
/// side's (`Names::topology`) plus each bounded context's own queues. Composed here, at the root,
/// so that neither side imports the other.
pub fn topology(
    names: &Names,
    retry_tiers: &[std::time::Duration],
    kind: ::actors::rabbit::QueueKind,
    reply_queue: Option<&str>,
) -> ::actors::rabbit::Topology {
    let mut t = names.topology(retry_tiers, kind, reply_queue);
    crate::notifications::topology::declare(&mut t, names, retry_tiers, kind);
    t
}

/// Every queue whose depth is worth watching: work queues, their retry tiers and DLQs.
pub fn monitored_queues(names: &Names, retry_tiers: &[std::time::Duration]) -> Vec<String> {
    let mut queues = names.monitored_queues(retry_tiers);
    for w in crate::notifications::topology::work_queues(names, retry_tiers) {
        queues.extend(w.all_queue_names());
    }
    queues
}
