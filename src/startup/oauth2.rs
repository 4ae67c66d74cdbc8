//! The OpenID Connect provider's actors (API side): the signing keys, the flows' service and the
//! client registration service, over the auth store.

use super::threads::Threads;
use crate::application::oauth2::JwtSigner;
use crate::application::oauth2::clients::ClientAdmin;
use crate::application::oauth2::service::{OAuth2Policy, OAuth2Ports, OAuth2Service};
use crate::config::Settings;
use crate::http::routes::OAuth2Endpoints;
use crate::infrastructure::oidc_keys::OidcKeys;
use crate::infrastructure::postgres::auth_store::AuthStore;
use ::actors::{ActorRef, Port, Restart, SupervisorRef};
use std::sync::Arc;
use std::time::Duration;

pub(super) fn start(
    settings: &Settings,
    application: &SupervisorRef,
    threads: &Threads,
    store: &ActorRef<AuthStore>,
    users: Port<crate::application::ports::GetUser>,
    commands: Port<crate::application::ports::SubmitCommand>,
) -> anyhow::Result<OAuth2Endpoints> {
    let signer: Arc<dyn JwtSigner> = Arc::new(OidcKeys::new(&settings.oidc)?);
    let ports = OAuth2Ports {
        clients: store.port(),
        store_code: store.port(),
        claim_code: store.port(),
        start_grant: store.port(),
        find_grant: store.port(),
        rotate: store.port(),
        revoke: store.port(),
        end_browser_session: store.port(),
        consent: store.port(),
        save_consent: store.port(),
        sessions: store.port(),
        users,
        totp: store.port(),
    };
    let policy = OAuth2Policy {
        issuer: settings.oidc.issuer.clone(),
        access_ttl: settings.auth.access_ttl,
        refresh_ttl: settings.auth.refresh_ttl,
        code_ttl: Duration::from_secs(60),
    };
    let service = {
        let signer = signer.clone();
        application.spawn(
            "oauth2",
            threads.first_io(),
            Restart::Permanent,
            move || OAuth2Service::new(ports.clone(), policy.clone(), signer.clone()),
        )
    };
    let admin = {
        let clients = store.port();
        application.spawn(
            "oauth2-clients",
            threads.first_io(),
            Restart::Permanent,
            move || ClientAdmin::new(commands.clone(), clients.clone()),
        )
    };
    Ok(OAuth2Endpoints {
        register: admin.port(),
        update: admin.port(),
        delete: admin.port(),
        rotate: admin.port(),
        find: store.port(),
        list: store.port(),
        authorize: service.port(),
        token: service.port(),
        userinfo: service.port(),
        introspect: service.port(),
        revoke: service.port(),
        end_session: service.port(),
        consents: store.port(),
        revoke_consent: store.port(),
        public_origin: store.port(),
        signer,
        issuer: settings.oidc.issuer.clone(),
    })
}
