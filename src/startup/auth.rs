//! The auth context's actors (API side): its store and revocation listener (under
//! `persistence`), the token service, and the login, account, MFA, recovery and email-change
//! services (under `application`).

use super::persistence::Persistence;
use super::threads::Threads;
use crate::application::account::AccountService;
use crate::application::auth::{AuthPolicy, AuthPorts, AuthService};
use crate::application::email_change::{EmailChangePorts, EmailChangeService, Lockouts};
use crate::application::mfa::{MfaPorts, MfaService};
use crate::application::mfa_challenge::MfaLoginPorts;
use crate::application::mfa_ports::SecretCipher;
use crate::application::ports::TokenService;
use crate::application::recovery::{RecoveryPorts, RecoveryService};
use crate::config::Settings;
use crate::domain::LockoutPolicy;
use crate::http::auth::AuthState;
use crate::http::routes::AccountPorts;
use crate::infrastructure::crypto::DataCipher;
use crate::infrastructure::password_hasher::PasswordHasher;
use crate::infrastructure::postgres::auth_store::AuthStore;
use crate::infrastructure::postgres::one_time_tokens::TokenStore;
use crate::infrastructure::postgres::revocation_listener::RevocationListener;
use crate::infrastructure::tokens::JwtService;
use ::actors::{ActorRef, Port, Restart, SupervisorRef};
use std::sync::Arc;

pub(super) struct AuthWiring {
    pub routes: crate::http::routes::AuthEndpoints,
    pub account: AccountPorts,
    pub sessions: crate::http::routes::SessionPorts,
    pub mfa: crate::http::routes::MfaEndpoints,
    pub recovery: crate::http::routes::RecoveryEndpoints,
    pub email_change: crate::http::routes::EmailChangeEndpoints,
    pub authentication: AuthState,
    /// The OAuth provider's stores are the auth store's (its session cache must hear of every
    /// revocation).
    pub store: ActorRef<AuthStore>,
}

/// The auth context (API side): its store, the token service, login and account actors.
pub(super) fn start(
    settings: &Settings,
    persistence: &Persistence,
    application: &SupervisorRef,
    threads: &Threads,
    hashers: &[ActorRef<PasswordHasher>],
) -> anyhow::Result<AuthWiring> {
    let (pool, command_stores) = (&persistence.pool, &persistence.command_stores[..]);
    let (first_io, last_io) = (threads.first_io(), threads.last_io());
    let persistence = &persistence.supervisor;
    let tokens: Arc<dyn TokenService> = Arc::new(
        JwtService::new(&settings.auth, settings.secret_key.expose())
            .map_err(|e| anyhow::anyhow!("JWT keys: {e}"))?,
    );
    let store = {
        let (pool, ttl) = (pool.clone(), settings.auth.session_cache);
        persistence.spawn("auth-store", last_io, Restart::Permanent, move || {
            AuthStore::new(pool, ttl)
        })
    };
    {
        // Revocations committed anywhere reach this replica's session cache (LISTEN/NOTIFY).
        let (pool, cache) = (pool.clone(), store.port());
        persistence.spawn(
            "revocation-listener",
            last_io,
            Restart::Permanent,
            move || RevocationListener::new(pool, cache),
        );
    }
    let cipher: Arc<dyn SecretCipher> = Arc::new(
        DataCipher::new(settings.data_encryption_key.expose())
            .ok_or_else(|| anyhow::anyhow!("DATA_ENCRYPTION_KEY is not base64 of 32 bytes"))?,
    );
    // A real hash with the configured algorithm and cost, verified against when an email is
    // unknown so that a miss costs the same work as a hit (made once, at start-up).
    let dummy_hash = crate::infrastructure::password_hashing::hash(
        &settings.credentials.hashing,
        &uuid::Uuid::new_v4().to_string(),
    )?;
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
    let lockouts = Lockouts {
        per_account: lockout(settings.auth.max_failures_per_account),
        per_address: lockout(settings.auth.max_failures_per_address),
    };
    let policy = AuthPolicy {
        hashing: settings.credentials.hashing,
        refresh_ttl: settings.auth.refresh_ttl,
        per_account: lockout(settings.auth.max_failures_per_account),
        per_address: lockout(settings.auth.max_failures_per_address),
        require_verified_email: settings.account_mail.require_verified_email,
    };
    let auth = {
        let tokens = tokens.clone();
        application.spawn("auth", first_io, Restart::Permanent, move || {
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
        application.spawn("account", first_io, Restart::Permanent, move || {
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
        application.spawn("mfa", first_io, Restart::Permanent, move || {
            MfaService::new(ports, cipher, issuer)
        })
    };
    let token_store = persistence.spawn("token-store", first_io, Restart::Permanent, {
        let pool = pool.clone();
        move || TokenStore::new(pool)
    });
    let recovery = {
        let ports = RecoveryPorts {
            commands: Port::pooled(command_stores),
            tokens: token_store.port(),
            credentials: store.port(),
            hash: Port::pooled(hashers),
        };
        application.spawn("recovery", first_io, Restart::Permanent, move || {
            RecoveryService::new(ports)
        })
    };
    let email_change = {
        let ports = EmailChangePorts {
            commands: Port::pooled(command_stores),
            tokens: token_store.port(),
            credentials: store.port(),
            verify: Port::pooled(hashers),
            check_throttle: store.port(),
            record_failure: store.port(),
        };
        application.spawn("email-change", first_io, Restart::Permanent, move || {
            EmailChangeService::new(ports, lockouts)
        })
    };
    Ok(AuthWiring {
        email_change: crate::http::routes::EmailChangeEndpoints {
            request: email_change.port(),
            confirm: email_change.port(),
            revert: email_change.port(),
        },
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
            status: store.port(),
        },
        sessions: crate::http::routes::SessionPorts {
            list: store.port(),
            end: store.port(),
            revoke: store.port(),
        },
        authentication: AuthState {
            tokens,
            sessions: store.port(),
        },
        store,
    })
}
