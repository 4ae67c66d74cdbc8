//! The worker side of the tree (worker and dev): the command dispatcher, the
//! command consumer, and the notifications context.

use super::messaging::Messaging;
use super::persistence::Persistence;
use super::supervision::supervisor_config;
use super::threads::Threads;
use crate::config::Settings;
use crate::infrastructure::messaging::command_dispatcher::CommandDispatcher;
use ::actors::rabbit::{Breaker, ConsumerConfig, QueueConsumer, RetryRoute};
use ::actors::{ActorRef, Port, Restart, SupervisorRef};

/// Starts the worker's actors; returns its queue consumers (stopped first on shutdown).
pub(super) fn start(
    root: &SupervisorRef,
    application: &SupervisorRef,
    settings: &Settings,
    threads: &Threads,
    messaging: &Messaging,
    persistence: &Persistence,
) -> anyhow::Result<Vec<ActorRef<QueueConsumer>>> {
    let dispatcher = {
        let repos = Port::pooled(&persistence.user_repositories);
        let publisher = messaging.publisher.clone();
        application.spawn(
            "command-dispatcher",
            threads.last_io(),
            Restart::Permanent,
            move || CommandDispatcher::new(repos, publisher),
        )
    };
    let names = &messaging.names;
    let config = ConsumerConfig {
        queue: names.command_queue.clone(),
        prefetch: settings.messaging.worker_prefetch,
        renew_when_idle: settings.messaging.renew_when_idle,
        retry: Some(RetryRoute {
            work: names.command_work_queue(&settings.messaging.retry_tiers),
            max_attempts: settings.messaging.max_attempts,
        }),
    };
    // While PostgreSQL is away, stop taking commands instead of burning their retries.
    let breaker = Breaker::new(persistence.health.port());
    let command_consumer =
        messaging.consumer("command-consumer", dispatcher.port(), config, Some(breaker));

    let notifications = crate::notifications::start(crate::notifications::Wiring {
        supervisor: &root.spawn_supervisor(supervisor_config("notifications", settings)),
        io: threads.last_io(),
        amqp: &threads.amqp,
        pool: persistence.pool.clone(),
        names,
        retry_tiers: &settings.messaging.retry_tiers,
        max_attempts: settings.messaging.max_attempts,
        prefetch: settings.messaging.worker_prefetch,
        renew_when_idle: settings.messaging.renew_when_idle,
        manager: messaging.manager.clone(),
        publisher: messaging.publisher.clone(),
        database_probe: persistence.health.port(),
        mail: &settings.account_mail,
        tokens: persistence.token_policy.key.clone(),
    })?;
    Ok(std::iter::once(command_consumer)
        .chain(notifications)
        .collect())
}
