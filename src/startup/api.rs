//! The API side of the tree (serve and dev): the `hashing` pool, the registration and
//! completion-tracking services, this replica's reply consumer, and the auth context.

use super::auth;
use super::messaging::Messaging;
use super::persistence::Persistence;
use super::supervision::{spawn_pool, supervisor_config};
use super::threads::Threads;
use crate::application::register_user::RegistrationService;
use crate::config::Settings;
use crate::config::credentials::BreachSource;
use crate::domain::PasswordHashing;
use crate::http::ApiState;
use crate::infrastructure::breached_passwords::{BreachScreen, ScreenPassword};
use crate::infrastructure::messaging::completions::CompletionTracker;
use crate::infrastructure::password_hasher::PasswordHasher;
use crate::infrastructure::postgres::rate_limits::RateLimitStore;
use ::actors::rabbit::{ConsumerConfig, QueueConsumer};
use ::actors::{ActorRef, Port, Restart, SupervisorRef};

/// One hasher per core, but no more than `PASSWORD_HASH_MEMORY_MIB` can hold at once: every
/// Argon2id hash in flight holds `ARGON2_MEMORY_KIB` (19 MiB by default, so the default 256 MiB
/// allows 13; 1 GiB per hash would leave one hasher whatever the cores).
fn hashing_pool_size(settings: &Settings, cores: usize) -> (PasswordHashing, usize) {
    let algorithm = settings.credentials.hashing;
    let per_hash = u64::from(algorithm.memory_kib());
    let by_memory = (settings.credentials.hashing_memory_kib / per_hash).max(1);
    let size = cores
        .min(usize::try_from(by_memory).unwrap_or(usize::MAX))
        .max(1);
    tracing::info!(
        algorithm = algorithm.name(),
        hashers = size,
        cores,
        peak_memory_mib = (size as u64 * per_hash).div_ceil(1024),
        "password hashing pool"
    );
    (algorithm, size)
}

/// The breached-password screen, if one is configured (said at start-up either way).
fn breach_screen(
    hashing: &SupervisorRef,
    settings: &Settings,
    threads: &Threads,
) -> Option<Port<ScreenPassword>> {
    let Some(breached) = settings.credentials.breached.clone() else {
        tracing::info!(
            "breached-password screening off: neither BREACHED_PASSWORDS_URL nor BREACHED_PASSWORDS_FILE is set"
        );
        return None;
    };
    match &breached.source {
        BreachSource::RangeApi {
            base_url,
            allow_private,
        } => tracing::info!(
            url = %base_url,
            allow_private,
            on_error = if breached.deny_on_error { "deny" } else { "allow" },
            "breached-password screening on: range API (only 5 hex characters of a SHA-1 are sent)"
        ),
        BreachSource::File(path) => tracing::info!(
            file = %path.display(),
            on_error = if breached.deny_on_error { "deny" } else { "allow" },
            "breached-password screening on: local file"
        ),
    }
    let screen = hashing.spawn(
        "breach-screen",
        threads.last_io(),
        Restart::Permanent,
        move || BreachScreen::new(&breached),
    );
    Some(screen.port())
}

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
    let screen = breach_screen(&hashing, settings, threads);
    let hashers = {
        let (algorithm, size) = hashing_pool_size(settings, threads.io.len());
        // Each hasher on a thread of its own: a hash blocks for tens to hundreds of milliseconds.
        let hasher_threads: Vec<_> = (0..size).map(|_| threads.dedicated()).collect();
        spawn_pool(
            &hashing,
            "password-hasher",
            &hasher_threads,
            Restart::Permanent.into(),
            move || PasswordHasher::new(algorithm, screen.clone()),
        )
    };
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
    // The per-client request rate every replica shares (RATE_LIMIT_SHARED).
    let rate_limits = {
        let pool = persistence.pool.clone();
        persistence.supervisor.spawn(
            "rate-limit-store",
            threads.first_io(),
            Restart::Permanent,
            move || RateLimitStore::new(pool),
        )
    };
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
        user_commands: Port::pooled(stores),
        events: persistence.event_log.port(),
        rate_limits: rate_limits.port(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(vars: &[(&str, &str)], cores: usize) -> usize {
        let settings = Settings::from_lookup(|k| {
            (vars.iter().find(|(name, _)| *name == k)).map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        hashing_pool_size(&settings, cores).1
    }

    #[test]
    fn the_hashing_pool_has_a_hasher_per_core_within_its_memory() {
        // 256 MiB hold 13 Argon2id hashes of 19 MiB: the cores decide.
        assert_eq!(pool(&[], 2), 2);
        assert_eq!(pool(&[], 32), 13);
        // 64 MiB hold 3; 1 GiB per hash still leaves one hasher.
        assert_eq!(pool(&[("PASSWORD_HASH_MEMORY_MIB", "64")], 8), 3);
        assert_eq!(pool(&[("ARGON2_MEMORY_KIB", "1048576")], 8), 1);
        // bcrypt's 4 KiB never limits it.
        assert_eq!(
            pool(
                &[
                    ("PASSWORD_HASH", "bcrypt"),
                    ("PASSWORD_HASH_MEMORY_MIB", "1")
                ],
                64
            ),
            64
        );
    }
}
