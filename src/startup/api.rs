//! The API side of the tree (serve and dev): the `hashing` pool, the registration and
//! completion-tracking services, this replica's reply consumer, and the auth context.

use super::auth;
use super::messaging::Messaging;
use super::persistence::Persistence;
use super::supervision::{spawn_pool, supervisor_config};
use super::threads::Threads;
use crate::application::register_user::RegistrationService;
use crate::config::Settings;
use crate::http::ApiState;
use crate::infrastructure::messaging::completions::CompletionTracker;
use crate::infrastructure::password_hasher::PasswordHasher;
use ::actors::rabbit::{ConsumerConfig, QueueConsumer};
use ::actors::{ActorRef, Port, Restart, SupervisorRef};

/// Starts the API's actors; returns what the HTTP routes talk to.
pub(super) fn start(
    root: &SupervisorRef,
    application: &SupervisorRef,
    settings: &Settings,
    threads: &mut Threads,
    messaging: &Messaging,
    persistence: &Persistence,
) -> anyhow::Result<(ApiState, ActorRef<QueueConsumer>)> {
    let hashing = root.spawn_supervisor(supervisor_config("hashing", settings));
    // Each hasher on a thread of its own: bcrypt blocks for hundreds of milliseconds.
    let cores = threads.io.len();
    let hasher_threads: Vec<_> = (0..cores).map(|_| threads.dedicated()).collect();
    let cost = settings.bcrypt_cost;
    let hashers = spawn_pool(
        &hashing,
        "password-hasher",
        &hasher_threads,
        Restart::Permanent.into(),
        move || PasswordHasher::new(cost),
    );
    let stores = &persistence.command_stores;
    let registration = {
        let (hashers, stores) = (Port::pooled(&hashers), Port::pooled(stores));
        let key = settings.secret_key.expose().as_bytes().to_vec();
        application.spawn(
            "registration",
            threads.first_io(),
            Restart::Permanent,
            move || RegistrationService::new(hashers, stores, &key),
        )
    };
    let tracker = {
        let stores = Port::pooled(stores);
        application.spawn(
            "completion-tracker",
            threads.first_io(),
            Restart::Permanent,
            move || CompletionTracker::new(stores),
        )
    };
    let config = ConsumerConfig {
        queue: messaging.reply_queue.clone(),
        prefetch: 200,
        retry: None,
        // Exclusive and auto-delete: ending its only consumer would delete the queue.
        renew_when_idle: None,
    };
    let reply_consumer = messaging.consumer("reply-consumer", tracker.port(), config, None);
    let auth = auth::start(settings, persistence, application, threads, &hashers)?;
    let oauth2 = super::oauth2::start(
        settings,
        application,
        threads,
        &auth.store,
        Port::pooled(&persistence.user_repositories),
        Port::pooled(stores),
    )?;
    let state = ApiState {
        register: registration.port(),
        completions: tracker.port(),
        users: Port::pooled(&persistence.user_repositories),
        list_users: Port::pooled(&persistence.user_repositories),
        commands: Port::pooled(stores),
        auth: auth.routes,
        account: auth.account,
        sessions: auth.sessions,
        mfa: auth.mfa,
        recovery: auth.recovery,
        email_change: auth.email_change,
        oauth2,
        authentication: auth.authentication,
        default_wait: settings.http.command_wait,
        reply_queue: messaging.reply_queue.clone(),
    };
    Ok((state, reply_consumer))
}
