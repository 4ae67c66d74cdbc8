//! The actor behind `/oauth2/*`: what it holds; its handlers are in `authorize`, `token` and
//! `resource`.

use super::JwtSigner;
use super::ports::{
    ClaimCode, EndBrowserSession, FindClient, FindConsent, FindGrant, RevokeGrant, SaveConsent,
    StartGrant, StoreCode,
};
use crate::application::mfa_ports::FindTotp;
use crate::application::ports::{CheckSession, GetUser, RotateRefreshToken};
use ::actors::Port;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct OAuth2Ports {
    pub clients: Port<FindClient>,
    pub store_code: Port<StoreCode>,
    pub claim_code: Port<ClaimCode>,
    pub start_grant: Port<StartGrant>,
    pub find_grant: Port<FindGrant>,
    pub rotate: Port<RotateRefreshToken>,
    pub revoke: Port<RevokeGrant>,
    pub end_browser_session: Port<EndBrowserSession>,
    pub consent: Port<FindConsent>,
    pub save_consent: Port<SaveConsent>,
    pub sessions: Port<CheckSession>,
    pub users: Port<GetUser>,
    pub totp: Port<FindTotp>,
}

#[derive(Clone, Debug)]
pub struct OAuth2Policy {
    pub issuer: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// At most 60 s (RFC 6749 §4.1.2 recommends 10 minutes at most; a client redeems at once).
    pub code_ttl: Duration,
}

pub struct OAuth2Service {
    pub(super) ports: OAuth2Ports,
    pub(super) policy: Arc<OAuth2Policy>,
    pub(super) signer: Arc<dyn JwtSigner>,
}

impl OAuth2Service {
    pub fn new(ports: OAuth2Ports, policy: OAuth2Policy, signer: Arc<dyn JwtSigner>) -> Self {
        Self {
            ports,
            policy: Arc::new(policy),
            signer,
        }
    }

    /// What a handler's future takes along.
    pub(super) fn parts(&self) -> (OAuth2Ports, Arc<OAuth2Policy>, Arc<dyn JwtSigner>) {
        (self.ports.clone(), self.policy.clone(), self.signer.clone())
    }
}

impl Actor for OAuth2Service {
    type Context = Context<Self>;
}

impl Supervised for OAuth2Service {}

::actors::instrument!(
    OAuth2Service: super::Authorize,
    super::Token,
    super::UserInfo,
    super::Introspect,
    super::Revoke,
    super::EndSession
);
