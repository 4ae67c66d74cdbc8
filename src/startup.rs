//! `Application::build`: one entry point for `main` and the tests. Builds the supervision tree,
//! then the HTTP server. The tree (also at `/debug/supervision`):
//!
//! ```text
//! root
//! ├── messaging      amqp-connection, publisher, [api] reply-consumer, [worker] command-consumer
//! ├── persistence    outbox-relay, command-store-N, user-repository-N, health-probe,
//! │                  [api] auth-store, revocation-listener
//! ├── hashing        [api] password-hasher-N   (one dedicated thread each)
//! ├── application    [api] registration, completion-tracker, auth, account, mfa, recovery;
//! │                  [worker] command-executor, command-dispatcher
//! └── notifications  [worker] mailer, welcome-sender, user-created-handler, notifications-consumer,
//!                    account-mail-sender, account-mail-handler, account-mail-consumer
//! ```

use crate::application::account::AccountService;
use crate::application::auth::{AuthPolicy, AuthPorts, AuthService};
use crate::application::command_executor::CommandExecutor;
use crate::application::mfa::{MfaPorts, MfaService};
use crate::application::mfa_challenge::MfaLoginPorts;
use crate::application::mfa_ports::SecretCipher;
use crate::application::one_time_token::{TokenKey, TokenPolicy};
use crate::application::ports::TokenService;
use crate::application::recovery::{RecoveryPorts, RecoveryService};
use crate::application::register_user::RegistrationService;
use crate::config::Settings;
use crate::domain::{LockoutPolicy, PasswordHash};
use crate::http::auth::AuthState;
use crate::http::routes::AccountPorts;
use crate::http::{self, ApiState, OpsState};
use crate::infrastructure::crypto::DataCipher;
use crate::infrastructure::health::HealthProbe;
use crate::infrastructure::messaging::command_dispatcher::CommandDispatcher;
use crate::infrastructure::messaging::completions::CompletionTracker;
use crate::infrastructure::messaging::names::Names;
use crate::infrastructure::outbox_relay::OutboxRelay;
use crate::infrastructure::password_hasher::PasswordHasher;
use crate::infrastructure::postgres::auth_store::AuthStore;
use crate::infrastructure::postgres::one_time_tokens::TokenStore;
use crate::infrastructure::postgres::revocation_listener::RevocationListener;
use crate::infrastructure::postgres::{
    self, command_store::CommandStore, user_repository::UserRepository,
};
use crate::infrastructure::tokens::JwtService;
use ::actors::rabbit::{
    Breaker, ConnectionManager, ConsumerConfig, Endpoints, Publisher, QueueConsumer, RetryRoute,
    StopConsuming,
};
use ::actors::{
    ActorRef, ChildOptions, Intensity, OnEscalation, Port, Restart, SupervisorConfig, SupervisorRef,
};
use actix::prelude::*;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware::from_fn, web};
use anyhow::Context as _;
use std::net::TcpListener;
use std::sync::Arc;

/// Which parts of the service this process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The HTTP API (commands are published, not applied).
    Api,
    /// A command worker (ops endpoints only).
    Worker,
    /// Both in one process, for development.
    All,
}

impl Role {
    fn api(self) -> bool {
        self != Role::Worker
    }
    fn worker(self) -> bool {
        self != Role::Api
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
    /// Stopped first on SIGTERM (command consumer, notifications consumer).
    consumers: Vec<ActorRef<QueueConsumer>>,
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

fn supervisor_config(name: &str, settings: &Settings) -> SupervisorConfig {
    SupervisorConfig::new(
        name,
        Intensity {
            max_restarts: settings.supervisor_max_restarts,
            within: settings.supervisor_window,
        },
    )
}

/// Repository actors answer from the database; one stuck on a hung query is restarted (its
/// pending replies fail, the callers retry or answer 503) rather than left holding its callers.
const REPOSITORY: ChildOptions = ChildOptions {
    restart: Restart::Permanent,
    restart_on_stall: true,
};

impl Application {
    pub async fn build(settings: Settings, role: Role) -> anyhow::Result<Self> {
        crate::metrics::register_all();
        ::actors::stall::set_limit(settings.actor_stall_limit);
        let pool = postgres::connect(&settings)
            .await
            .context("connecting to PostgreSQL (DATABASE_URL)")?;
        postgres::migrate(&pool).await?;
        crate::infrastructure::messaging::preflight::check_broker_certificate(&settings).await?;

        let names = Names::new(&settings.amqp_prefix);
        let replica = uuid::Uuid::new_v4().simple().to_string();
        let reply_queue = names.reply_queue(&replica[..12]);
        let topology = topology(
            &names,
            &settings.retry_tiers,
            settings.queue_kind,
            role.api().then_some(reply_queue.as_str()),
        );
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);

        let mut arbiters = Vec::new();
        let mut new_arbiter = || {
            let a = Arbiter::new();
            let h = a.handle();
            arbiters.push(a);
            h
        };
        let io: Vec<ArbiterHandle> = (0..cores).map(|_| new_arbiter()).collect();
        let amqp = new_arbiter();

        let (on_escalation, escalations) = OnEscalation::report();
        let root = SupervisorRef::start_root(supervisor_config("root", &settings), on_escalation);
        let messaging = root.spawn_supervisor(supervisor_config("messaging", &settings));
        let persistence = root.spawn_supervisor(supervisor_config("persistence", &settings));
        let application = root.spawn_supervisor(supervisor_config("application", &settings));

        let endpoints = Endpoints::parse(settings.rabbitmq_url.expose())?;
        let amqp_tls = settings.rabbitmq_tls.clone();
        let connection_name = format!("hexactor-{role:?}-{}", &replica[..12]).to_lowercase();
        let manager = messaging.spawn("amqp-connection", &amqp, Restart::Permanent, move || {
            ConnectionManager::new(endpoints, connection_name, topology).with_tls(amqp_tls)
        });
        let publisher = {
            let manager = manager.clone();
            messaging.spawn("publisher", &amqp, Restart::Permanent, move || {
                Publisher::new(manager, 256)
            })
        };

        let relay = {
            let (pool, publisher) = (pool.clone(), publisher.clone());
            persistence.spawn("outbox-relay", &io[0], Restart::Permanent, move || {
                OutboxRelay::new(pool, publisher)
            })
        };
        let command_stores: Vec<ActorRef<CommandStore>> = (0..cores)
            .map(|i| {
                let (pool, names, relay) = (pool.clone(), names.clone(), relay.clone());
                persistence.spawn_with(
                    format!("command-store-{i}"),
                    &io[i],
                    REPOSITORY,
                    move || CommandStore::new(pool, names, Some(relay)),
                )
            })
            .collect();
        let token_policy = token_policy(&settings);
        let user_repositories: Vec<ActorRef<UserRepository>> = (0..cores)
            .map(|i| {
                let (pool, names, relay) = (pool.clone(), names.clone(), relay.clone());
                let tokens = token_policy.clone();
                persistence.spawn_with(
                    format!("user-repository-{i}"),
                    &io[i],
                    REPOSITORY,
                    move || UserRepository::new(pool, names, Some(relay), tokens),
                )
            })
            .collect();
        crate::infrastructure::monitors::start(
            &persistence,
            &messaging,
            &io[0],
            &amqp,
            &pool,
            &manager,
            monitored_queues(&names, &settings.retry_tiers),
            settings.monitor_interval,
        );
        let health = {
            let (pool, manager) = (pool.clone(), manager.clone());
            persistence.spawn("health-probe", &io[0], Restart::Permanent, move || {
                HealthProbe::new(pool, manager).broker_required(role.worker())
            })
        };

        let api_state = if role.api() {
            let hashing = root.spawn_supervisor(supervisor_config("hashing", &settings));
            let cost = settings.bcrypt_cost;
            let hashers: Vec<ActorRef<PasswordHasher>> = (0..cores)
                .map(|i| {
                    // Its own thread: bcrypt blocks for hundreds of milliseconds.
                    let thread = new_arbiter();
                    hashing.spawn(
                        format!("password-hasher-{i}"),
                        &thread,
                        Restart::Permanent,
                        move || PasswordHasher::new(cost),
                    )
                })
                .collect();
            let registration = {
                let (hashers, stores) = (Port::pooled(&hashers), Port::pooled(&command_stores));
                let key = settings.secret_key.expose().as_bytes().to_vec();
                application.spawn("registration", &io[0], Restart::Permanent, move || {
                    RegistrationService::new(hashers, stores, &key)
                })
            };
            let tracker = {
                let stores = Port::pooled(&command_stores);
                application.spawn(
                    "completion-tracker",
                    &io[0],
                    Restart::Permanent,
                    move || CompletionTracker::new(stores),
                )
            };
            let config = ConsumerConfig {
                queue: reply_queue.clone(),
                prefetch: 200,
                retry: None,
            };
            let (m, p, handler) = (manager.clone(), publisher.clone(), tracker.port());
            messaging.spawn("reply-consumer", &amqp, Restart::Permanent, move || {
                QueueConsumer::new(m, p, handler, config)
            });
            let auth = build_auth(
                &settings,
                &persistence,
                &application,
                &pool,
                &io,
                &hashers,
                &command_stores,
            )?;
            Some(ApiState {
                register: registration.port(),
                completions: tracker.port(),
                users: Port::pooled(&user_repositories),
                list_users: Port::pooled(&user_repositories),
                commands: Port::pooled(&command_stores),
                auth: auth.routes,
                account: auth.account,
                sessions: auth.sessions,
                mfa: auth.mfa,
                recovery: auth.recovery,
                authentication: auth.authentication,
                default_wait: settings.command_wait,
                reply_queue: reply_queue.clone(),
            })
        } else {
            None
        };

        let command_consumer = if role.worker() {
            let executor = {
                let repos = Port::pooled(&user_repositories);
                application.spawn("command-executor", &io[0], Restart::Permanent, move || {
                    CommandExecutor::new(repos)
                })
            };
            let dispatcher = {
                let (executor, publisher) = (executor.port(), publisher.clone());
                application.spawn(
                    "command-dispatcher",
                    &io[io.len() - 1],
                    Restart::Permanent,
                    move || CommandDispatcher::new(executor, publisher),
                )
            };
            let config = ConsumerConfig {
                queue: names.command_queue.clone(),
                prefetch: settings.worker_prefetch,
                retry: Some(RetryRoute {
                    work: names.command_work_queue(&settings.retry_tiers),
                    max_attempts: settings.max_attempts,
                }),
            };
            // While PostgreSQL is away, stop taking commands instead of burning their retries.
            let breaker = Breaker {
                trip_after: 5,
                probe: health.port(),
                probe_every: std::time::Duration::from_millis(500),
            };
            let (m, p, handler) = (manager.clone(), publisher.clone(), dispatcher.port());
            Some(
                messaging.spawn("command-consumer", &amqp, Restart::Permanent, move || {
                    QueueConsumer::new(m, p, handler, config).with_breaker(breaker)
                }),
            )
        } else {
            None
        };
        let notifications_consumers = role.worker().then(|| {
            crate::notifications::start(crate::notifications::Wiring {
                supervisor: &root.spawn_supervisor(supervisor_config("notifications", &settings)),
                io: &io[io.len() - 1],
                amqp: &amqp,
                pool: pool.clone(),
                names: &names,
                retry_tiers: &settings.retry_tiers,
                max_attempts: settings.max_attempts,
                prefetch: settings.worker_prefetch,
                manager: manager.clone(),
                publisher: publisher.clone(),
                database_probe: health.port(),
                mail: &settings.account_mail,
                tokens: token_policy.key.clone(),
            })
        });
        let notifications_consumers = notifications_consumers.transpose()?;

        let ops_state = OpsState {
            readiness: health.port(),
            supervisor: root.clone(),
        };
        // Two listeners: the public one (API, /health, /ready) and the ops one (/metrics,
        // /debug/*, and /health, /ready again), bound to OPS_HOST so that the actor tree and
        // the metrics are not on the internet. A worker has only the ops listener, on WORKER_PORT.
        let origins = settings.auth.allowed_origins.clone();
        let trusted_proxies = web::Data::new(settings.auth.trusted_proxies.clone());
        let rate_limit = http::rate_limit::RateLimit::new(
            settings.auth.rate_limit_per_minute,
            settings.auth.rate_limit_burst,
        )
        .map(web::Data::new);
        let public = match api_state {
            Some(api_state) => {
                let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
                let port = listener.local_addr()?.port();
                let ops_state = ops_state.clone();
                let server = HttpServer::new(move || {
                    let (api_state, ops_state) = (api_state.clone(), ops_state.clone());
                    let mut app = App::new().app_data(trusted_proxies.clone());
                    if let Some(limit) = &rate_limit {
                        app = app.app_data(limit.clone());
                    }
                    // Innermost: CORS answers preflights before they count against a client.
                    app.wrap(from_fn(http::rate_limit::limit))
                        // CORS stays off (no Access-Control-* headers at all) unless ALLOWED_ORIGINS lists origins.
                        .wrap(actix_web::middleware::Condition::new(
                            !origins.is_empty(),
                            http::cors(&origins),
                        ))
                        .wrap(from_fn(http::middleware::observe))
                        .configure(move |cfg| {
                            http::routes::configure_api(cfg, api_state);
                            http::routes::configure_probes(cfg, ops_state);
                        })
                        .default_service(web::to(http::routes::not_found))
                });
                let server = server
                    .workers(cores)
                    .disable_signals()
                    .shutdown_timeout(settings.shutdown_timeout.as_secs())
                    .listen(listener)?
                    .run();
                Some((port, server))
            }
            None => None,
        };
        let ops_port = if role == Role::Worker {
            settings.worker_port
        } else {
            settings.ops_port
        };
        let ops_listener = TcpListener::bind((settings.ops_host.as_str(), ops_port))?;
        let ops_port = ops_listener.local_addr()?.port();
        let ops_server = HttpServer::new(move || {
            let ops_state = ops_state.clone();
            App::new()
                .wrap(from_fn(http::middleware::observe))
                .configure(move |cfg| http::routes::configure_ops(cfg, ops_state))
                .default_service(web::to(http::routes::not_found))
        });
        let ops = ops_server
            // Scrapes and probes are light: one thread is plenty.
            .workers(1)
            .disable_signals()
            .shutdown_timeout(settings.shutdown_timeout.as_secs())
            .listen(ops_listener)?
            .run();
        let (port, public) = match public {
            Some((port, server)) => (port, Some(server)),
            None => (ops_port, None),
        };

        if let Some(tree) = root.describe().await {
            tracing::info!(role = ?role, port, ops_port, tree = %tree.names().join(","), "supervision tree started");
        }
        Ok(Self {
            port,
            ops_port,
            public,
            ops,
            supervisor: root,
            consumers: command_consumer
                .into_iter()
                .chain(notifications_consumers.into_iter().flatten())
                .collect(),
            amqp: AmqpShutdown(manager),
            settings,
            escalations: Some(escalations),
            _arbiters: arbiters,
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

    /// Serves until SIGTERM/SIGINT or a root escalation, then shuts down gracefully: stop
    /// consuming, let in-flight commands finish and be acked, stop the HTTP server — all within
    /// the shutdown deadline. Says which of the two stopped it.
    pub async fn run_until_stopped(mut self) -> std::io::Result<Stopped> {
        let handles: Vec<_> = self.servers().map(|s| s.handle()).collect();
        let consumers = self.consumers.clone();
        let deadline = self.settings.shutdown_timeout;
        let amqp = self.amqp.clone();
        let mut escalations = self.escalations.take();
        let (why_tx, why_rx) = tokio::sync::oneshot::channel();
        actix::spawn(async move {
            let escalated = async {
                match escalations.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => None,
                }
            };
            let why = tokio::select! {
                _ = wait_for_signal() => Stopped::Signal,
                Some(e) = escalated => {
                    tracing::error!(supervisor = %e.supervisor, child = %e.child, reason = %e.reason,
                        "the root supervisor gave up: shutting down");
                    Stopped::Escalated(e)
                }
            };
            tracing::info!("shutdown requested");
            let stops = consumers.iter().map(|c| c.ask(StopConsuming { deadline }));
            let left: usize = futures_util::future::join_all(stops)
                .await
                .into_iter()
                .map(|r| r.unwrap_or(usize::MAX))
                .fold(0, usize::saturating_add);
            tracing::info!(unfinished = left, "consumers stopped");
            futures_util::future::join_all(handles.iter().map(|h| h.stop(true))).await;
            amqp.close().await;
            let _ = why_tx.send(why);
        });
        self.into_server().await?;
        Ok(why_rx.await.unwrap_or(Stopped::Signal))
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

/// Closes the AMQP connection at the end of a shutdown. After that nothing reconnects or
/// redeclares the topology: a process still stopping must not re-create queues or exchanges
/// that were deleted meanwhile (a consumer cancelled by the deletion asks for a redeclare).
#[derive(Clone)]
pub struct AmqpShutdown(ActorRef<ConnectionManager>);

impl AmqpShutdown {
    pub async fn close(&self) {
        let _ = self.0.ask(::actors::rabbit::Close).await;
    }
}

/// How the workers issue one-time tokens (password reset, email verification).
fn token_policy(settings: &Settings) -> TokenPolicy {
    let mail = &settings.account_mail;
    TokenPolicy {
        key: TokenKey::derive(settings.secret_key.expose()),
        password_reset_ttl: mail.password_reset_ttl,
        email_verification_ttl: mail.email_verification_ttl,
        min_interval: mail.mail_min_interval,
    }
}

struct AuthWiring {
    routes: crate::http::routes::AuthEndpoints,
    account: AccountPorts,
    sessions: crate::http::routes::SessionPorts,
    mfa: crate::http::routes::MfaEndpoints,
    recovery: crate::http::routes::RecoveryEndpoints,
    authentication: AuthState,
}

/// The auth context (API side): its store, the token service, login and account actors.
fn build_auth(
    settings: &Settings,
    persistence: &SupervisorRef,
    application: &SupervisorRef,
    pool: &sqlx::PgPool,
    io: &[ArbiterHandle],
    hashers: &[ActorRef<PasswordHasher>],
    command_stores: &[ActorRef<CommandStore>],
) -> anyhow::Result<AuthWiring> {
    let tokens: Arc<dyn TokenService> = Arc::new(
        JwtService::new(&settings.auth, settings.secret_key.expose())
            .map_err(|e| anyhow::anyhow!("JWT keys: {e}"))?,
    );
    let store = {
        let (pool, ttl) = (pool.clone(), settings.auth.session_cache);
        persistence.spawn(
            "auth-store",
            &io[io.len() - 1],
            Restart::Permanent,
            move || AuthStore::new(pool, ttl),
        )
    };
    {
        // Revocations committed anywhere reach this replica's session cache (LISTEN/NOTIFY).
        let (pool, cache) = (pool.clone(), store.port());
        persistence.spawn(
            "revocation-listener",
            &io[io.len() - 1],
            Restart::Permanent,
            move || RevocationListener::new(pool, cache),
        );
    }
    let cipher: Arc<dyn SecretCipher> = Arc::new(
        DataCipher::new(settings.data_encryption_key.expose())
            .ok_or_else(|| anyhow::anyhow!("DATA_ENCRYPTION_KEY is not base64 of 32 bytes"))?,
    );
    // A real hash at the configured cost, verified against when an email is unknown so that a
    // miss costs the same bcrypt work as a hit (made once, at start-up).
    let dummy_hash = PasswordHash::new(bcrypt::hash(
        uuid::Uuid::new_v4().to_string(),
        settings.bcrypt_cost,
    )?);
    let ports = AuthPorts {
        credentials: store.port(),
        verify: Port::pooled(hashers),
        hash: Port::pooled(hashers),
        upgrade_hash: store.port(),
        start_session: store.port(),
        rotate: store.port(),
        revoke: store.port(),
        check_throttle: store.port(),
        record_failure: store.port(),
        clear_failures: store.port(),
        mfa: MfaLoginPorts {
            find_totp: store.port(),
            create_challenge: store.port(),
            consume_challenge: store.port(),
            use_step: store.port(),
            use_recovery_code: store.port(),
            cipher: cipher.clone(),
        },
        outcomes: Arc::new(crate::infrastructure::outcome_metrics::OutcomeMetrics),
    };
    let lockout = |max_failures| LockoutPolicy {
        max_failures,
        base_lock: settings.auth.lockout_base,
        max_lock: settings.auth.lockout_max,
    };
    let policy = AuthPolicy {
        bcrypt_cost: settings.bcrypt_cost,
        refresh_ttl: settings.auth.refresh_ttl,
        per_account: lockout(settings.auth.max_failures_per_account),
        per_address: lockout(settings.auth.max_failures_per_address),
        require_verified_email: settings.account_mail.require_verified_email,
    };
    let auth = {
        let tokens = tokens.clone();
        application.spawn("auth", &io[0], Restart::Permanent, move || {
            AuthService::new(ports, tokens, policy, dummy_hash)
        })
    };
    let account = {
        let (stores, creds, verify, hash) = (
            Port::pooled(command_stores),
            store.port(),
            Port::pooled(hashers),
            Port::pooled(hashers),
        );
        application.spawn("account", &io[0], Restart::Permanent, move || {
            AccountService::new(stores, creds, verify, hash)
        })
    };
    let mfa = {
        let ports = MfaPorts {
            commands: Port::pooled(command_stores),
            find_totp: store.port(),
            credentials: store.port(),
            verify: Port::pooled(hashers),
        };
        let issuer = settings.auth.issuer.clone();
        application.spawn("mfa", &io[0], Restart::Permanent, move || {
            MfaService::new(ports, cipher, issuer)
        })
    };
    let recovery = {
        let tokens = persistence.spawn("token-store", &io[0], Restart::Permanent, {
            let pool = pool.clone();
            move || TokenStore::new(pool)
        });
        let ports = RecoveryPorts {
            commands: Port::pooled(command_stores),
            tokens: tokens.port(),
            credentials: store.port(),
            hash: Port::pooled(hashers),
        };
        application.spawn("recovery", &io[0], Restart::Permanent, move || {
            RecoveryService::new(ports)
        })
    };
    Ok(AuthWiring {
        recovery: crate::http::routes::RecoveryEndpoints {
            request_reset: recovery.port(),
            confirm_reset: recovery.port(),
            verify_email: recovery.port(),
            resend_verification: recovery.port(),
        },
        routes: crate::http::routes::AuthEndpoints {
            login: auth.port(),
            refresh: auth.port(),
            logout: auth.port(),
        },
        account: AccountPorts {
            update: account.port(),
            deactivate: account.port(),
            change_password: account.port(),
            change_role: account.port(),
        },
        mfa: crate::http::routes::MfaEndpoints {
            enrol: mfa.port(),
            confirm: mfa.port(),
            disable: mfa.port(),
            login: auth.port(),
        },
        sessions: crate::http::routes::SessionPorts {
            list: store.port(),
            end: store.port(),
        },
        authentication: AuthState {
            tokens,
            sessions: store.port(),
        },
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
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
