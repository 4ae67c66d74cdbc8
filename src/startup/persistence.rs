//! The `persistence` supervisor: the actors that own the PostgreSQL pool's work — the outbox
//! relay, the command-store and user-repository pools, the pool monitor, the event log and the
//! health probe.

use super::ProcessRole;
use super::messaging::Messaging;
use super::supervision::{REPOSITORY, spawn_pool, supervisor_config};
use super::threads::Threads;
use crate::application::one_time_token::{TokenKey, TokenPolicy};
use crate::config::Settings;
use crate::infrastructure::health::HealthProbe;
use crate::infrastructure::postgres::event_log::EventLog;
use crate::infrastructure::postgres::outbox_relay::OutboxRelay;
use crate::infrastructure::postgres::pool_monitor::PoolMonitor;
use crate::infrastructure::postgres::{
    command_store::CommandStore, user_repository::UserRepository,
};
use ::actors::{ActorRef, Restart, SupervisorRef};
use sqlx::PgPool;

pub(super) struct Persistence {
    pub supervisor: SupervisorRef,
    pub pool: PgPool,
    /// One per core: command log + outbox inserts, command status.
    pub command_stores: Vec<ActorRef<CommandStore>>,
    /// One per core: reads, and in workers the exactly-once command transactions.
    pub user_repositories: Vec<ActorRef<UserRepository>>,
    pub health: ActorRef<HealthProbe>,
    /// The public events for `GET /api/v1/events`; prunes them after EVENT_RETENTION_DAYS.
    pub event_log: ActorRef<EventLog>,
    pub token_policy: TokenPolicy,
}

pub(super) fn start(
    root: &SupervisorRef,
    settings: &Settings,
    threads: &Threads,
    role: ProcessRole,
    pool: PgPool,
    messaging: &Messaging,
) -> Persistence {
    let supervisor = root.spawn_supervisor(supervisor_config("persistence", settings));
    let relay = {
        let (pool, publisher) = (pool.clone(), messaging.publisher.clone());
        supervisor.spawn(
            "outbox-relay",
            threads.first_io(),
            Restart::Permanent,
            move || OutboxRelay::new(pool, publisher),
        )
    };
    let command_stores = {
        let (pool, names, relay) = (pool.clone(), messaging.names.clone(), relay.clone());
        spawn_pool(
            &supervisor,
            "command-store",
            &threads.io,
            REPOSITORY,
            move || CommandStore::new(pool.clone(), names.clone(), Some(relay.clone())),
        )
    };
    let token_policy = token_policy(settings);
    let user_repositories = {
        let (pool, names, relay) = (pool.clone(), messaging.names.clone(), relay.clone());
        let tokens = token_policy.clone();
        spawn_pool(
            &supervisor,
            "user-repository",
            &threads.io,
            REPOSITORY,
            move || {
                UserRepository::new(
                    pool.clone(),
                    names.clone(),
                    Some(relay.clone()),
                    tokens.clone(),
                )
            },
        )
    };
    // The pool gauges and `active_users_total`: no request moves them, so they are sampled.
    {
        let (pool, every) = (pool.clone(), settings.runtime.monitor_interval);
        supervisor.spawn(
            "pool-monitor",
            threads.first_io(),
            Restart::Permanent,
            move || PoolMonitor::new(pool, every),
        );
    }
    let event_log = {
        let (pool, days) = (pool.clone(), settings.database.event_retention_days);
        supervisor.spawn(
            "event-log",
            threads.first_io(),
            Restart::Permanent,
            move || EventLog::new(pool, days),
        )
    };
    let health = {
        let (pool, manager) = (pool.clone(), messaging.manager.clone());
        supervisor.spawn(
            "health-probe",
            threads.first_io(),
            Restart::Permanent,
            move || HealthProbe::new(pool, manager).broker_required(role.worker()),
        )
    };
    Persistence {
        supervisor,
        pool,
        command_stores,
        user_repositories,
        health,
        event_log,
        token_policy,
    }
}

/// How the workers issue one-time tokens (password reset, email verification and change).
pub(crate) fn token_policy(settings: &Settings) -> TokenPolicy {
    let mail = &settings.account_mail;
    TokenPolicy {
        key: TokenKey::derive(settings.secret_key.expose()),
        password_reset_ttl: mail.password_reset_ttl,
        email_verification_ttl: mail.email_verification_ttl,
        email_change_ttl: mail.email_change_ttl,
        min_interval: mail.mail_min_interval,
    }
}
