//! The composition root. `Application::build` is the one entry point for `main` and the tests:
//! it builds the supervision tree, then the HTTP listeners. Each part of the tree is started by
//! its own module, in this order:
//!
//! ```text
//! root
//! ├── messaging      messaging.rs    amqp-connection, publisher (+ queue-monitor, reply-consumer,
//! │                                  command-consumer, started by the parts that own them)
//! ├── persistence    persistence.rs  outbox-relay, command-store-N, user-repository-N, pool-monitor,
//! │                                  health-probe (+ [api] auth-store, revocation-listener, token-store)
//! ├── application    api.rs, auth.rs [api] registration, completion-tracker, auth, account, mfa,
//! │                  worker.rs       recovery; [worker] command-executor, command-dispatcher
//! ├── hashing        api.rs          [api] password-hasher-N (one dedicated thread each)
//! └── notifications  worker.rs       [worker] see `crate::notifications::start`
//! ```
//!
//! N is the number of cores. The tree as it really started is logged once at start-up
//! (`supervision::render`) and served at `/debug/supervision`.

mod api;
mod auth;
mod listeners;
mod messaging;
mod oauth2;
mod persistence;
pub(crate) use persistence::token_policy;
mod shutdown;
mod supervision;
mod threads;
mod worker;

pub use messaging::{monitored_queues, topology};
pub use shutdown::AmqpShutdown;

use crate::config::Settings;
use crate::http::OpsState;
use crate::infrastructure::postgres;
use ::actors::rabbit::QueueConsumer;
use ::actors::{ActorRef, OnEscalation, SupervisorRef};
use actix::prelude::*;
use actix_web::dev::Server;
use anyhow::Context as _;
use supervision::supervisor_config;

/// Which parts of the service this process runs (not a user's role: that is `domain::Role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessRole {
    /// The HTTP API (commands are published, not applied).
    Api,
    /// A command worker (ops endpoints only).
    Worker,
    /// Both in one process, for development.
    All,
}

impl ProcessRole {
    fn api(self) -> bool {
        self != ProcessRole::Worker
    }
    fn worker(self) -> bool {
        self != ProcessRole::Api
    }
    /// As in the AMQP connection name and the logs.
    pub fn name(self) -> &'static str {
        match self {
            ProcessRole::Api => "api",
            ProcessRole::Worker => "worker",
            ProcessRole::All => "all",
        }
    }
}

pub struct Application {
    port: u16,
    ops_port: u16,
    /// The public listener (API, /health, /ready); none in a worker.
    public: Option<Server>,
    /// The ops listener (/metrics, /debug/*, /health, /ready).
    ops: Server,
    supervisor: SupervisorRef,
    /// Stopped first on SIGTERM (command consumer, notifications consumers).
    consumers: Vec<ActorRef<QueueConsumer>>,
    /// The API's completion notices: stopped after the HTTP servers (a request still waiting for
    /// its command's outcome needs it) and before the AMQP connection closes.
    reply_consumer: Option<ActorRef<QueueConsumer>>,
    /// Closed last on shutdown, and never reconnected after (see [`AmqpShutdown`]).
    amqp: AmqpShutdown,
    settings: Settings,
    /// The root supervisor's escalations (it gave up restarting): the process shuts down.
    escalations: Option<tokio::sync::mpsc::UnboundedReceiver<::actors::Escalated>>,
    // Dedicated threads; kept here so that they live as long as the application.
    _arbiters: Vec<Arbiter>,
}

/// Why [`Application::run_until_stopped`] returned.
#[derive(Debug)]
pub enum Stopped {
    /// SIGTERM or SIGINT: a normal, graceful stop.
    Signal,
    /// The root supervisor exceeded its restart intensity. `main` exits with
    /// [`Stopped::ESCALATION_EXIT_CODE`] after the graceful shutdown, so that an orchestrator
    /// starts a fresh process.
    Escalated(::actors::Escalated),
}

impl Stopped {
    /// EX_SOFTWARE: an internal error the process could not recover from.
    pub const ESCALATION_EXIT_CODE: u8 = 70;
}

impl Application {
    pub async fn build(settings: Settings, role: ProcessRole) -> anyhow::Result<Self> {
        crate::metrics::register_all();
        ::actors::stall::set_limit(settings.runtime.actor_stall_limit);
        let pool = postgres::connect(&settings)
            .await
            .context("connecting to PostgreSQL (DATABASE_URL)")?;
        postgres::migrate(&pool).await?;
        crate::infrastructure::messaging::preflight::check_broker_certificate(&settings).await?;

        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let mut threads = threads::Threads::new(cores);
        let replica = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();

        let (on_escalation, escalations) = OnEscalation::report();
        let root = SupervisorRef::start_root(supervisor_config("root", &settings), on_escalation);
        let messaging = messaging::start(&root, &settings, &threads, role, &replica)?;
        let persistence = persistence::start(&root, &settings, &threads, role, pool, &messaging);
        let application = root.spawn_supervisor(supervisor_config("application", &settings));
        let (api, reply_consumer) = if role.api() {
            let (state, replies) = api::start(
                &root,
                &application,
                &settings,
                &mut threads,
                &messaging,
                &persistence,
            )?;
            (Some(state), Some(replies))
        } else {
            (None, None)
        };
        let consumers = if role.worker() {
            worker::start(
                &root,
                &application,
                &settings,
                &threads,
                &messaging,
                &persistence,
            )?
        } else {
            Vec::new()
        };

        let ops_state = OpsState {
            readiness: persistence.health.port(),
            supervisor: root.clone(),
        };
        let listeners = listeners::start(&settings, role, api, ops_state, cores)?;
        if let Some(tree) = root.describe().await {
            let (port, ops_port) = (listeners.port, listeners.ops_port);
            let actors = supervision::actor_count(&tree);
            // The drawing in a field, so that the message stays one searchable string; its
            // leading newline puts the drawing on lines of its own in the pretty format.
            let drawing = format!("\n{}", supervision::render(&tree));
            tracing::info!(
                role = role.name(),
                port,
                ops_port,
                actors,
                tree = %drawing,
                "supervision tree started"
            );
        }
        Ok(Self {
            port: listeners.port,
            ops_port: listeners.ops_port,
            public: listeners.public,
            ops: listeners.ops,
            supervisor: root,
            consumers,
            reply_consumer,
            amqp: AmqpShutdown::new(messaging.manager, messaging.publisher),
            settings,
            escalations: Some(escalations),
            _arbiters: threads.into_arbiters(),
        })
    }

    /// The public port; for a worker, which has no public listener, its ops port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ops listener's port (`OPS_PORT`, or `WORKER_PORT` for a worker).
    pub fn ops_port(&self) -> u16 {
        self.ops_port
    }

    pub fn supervisor(&self) -> &SupervisorRef {
        &self.supervisor
    }

    /// Closes the process's AMQP connection for good (tests, before they delete the namespace).
    pub fn amqp_shutdown(&self) -> AmqpShutdown {
        self.amqp.clone()
    }

    fn servers(&self) -> impl Iterator<Item = &Server> {
        self.public.iter().chain(std::iter::once(&self.ops))
    }

    /// Both HTTP servers as one future, for tests that run it in the background; it ends when
    /// both have stopped (the first error wins).
    pub fn into_server(self) -> impl std::future::Future<Output = std::io::Result<()>> {
        let servers = self.public.into_iter().chain(std::iter::once(self.ops));
        async move {
            futures_util::future::join_all(servers)
                .await
                .into_iter()
                .collect()
        }
    }
}
