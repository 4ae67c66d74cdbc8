//! Route table. The API and the ops endpoints are separate so that a worker can serve only the
//! latter.

pub mod auth;
pub mod command_reply;
pub mod commands;
pub mod cursor;
pub mod email_change;
pub mod events;
pub mod mfa;
pub mod oauth2_clients;
pub mod openapi;
pub mod ops;
pub mod recovery;
pub mod request;
pub mod roles;
pub mod sessions;
pub mod users;

use super::auth::AuthState;
use super::problem::{ApiError, json_error};
use crate::application::account::{ChangePassword, DeactivateAccount, UpdateProfile};
use crate::application::auth::{Login, Logout, Refresh};
use crate::application::ports::{
    AwaitCompletion, GetCommand, GetUser, ListUserCommands, ListUsers,
};
use crate::application::readiness::CheckReadiness;
use crate::application::register_user::RegisterUser;
use ::actors::{Port, SupervisorRef};
use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use std::time::Duration;

pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct AuthEndpoints {
    pub login: Port<Login>,
    pub refresh: Port<Refresh>,
    pub logout: Port<Logout>,
}

#[derive(Clone)]
pub struct AccountPorts {
    pub update: Port<UpdateProfile>,
    pub deactivate: Port<DeactivateAccount>,
    pub change_password: Port<ChangePassword>,
    pub change_role: Port<crate::application::roles::ChangeRole>,
}

#[derive(Clone)]
pub struct MfaEndpoints {
    pub enrol: Port<crate::application::mfa::StartTotpEnrolment>,
    pub confirm: Port<crate::application::mfa::ConfirmTotp>,
    pub disable: Port<crate::application::mfa::DisableTotp>,
    pub login: Port<crate::application::mfa_login::LoginMfa>,
    /// Whether TOTP is on (the account page shows it).
    pub status: Port<crate::application::mfa_ports::FindTotp>,
}

#[derive(Clone)]
pub struct SessionPorts {
    pub list: Port<crate::application::sessions::ListSessions>,
    pub end: Port<crate::application::sessions::EndSession>,
    /// An admin ends every session of a user (the admin console); written directly, like
    /// every revocation, so it holds at the moment of the answer.
    pub revoke: Port<crate::application::ports::RevokeSessions>,
}

/// Password recovery and email verification (`routes/recovery.rs`).
#[derive(Clone)]
pub struct RecoveryEndpoints {
    pub request_reset: Port<crate::application::recovery::RequestPasswordReset>,
    pub confirm_reset: Port<crate::application::recovery::ConfirmPasswordReset>,
    pub verify_email: Port<crate::application::recovery::VerifyEmail>,
    pub resend_verification: Port<crate::application::recovery::ResendVerification>,
}

/// Email change with re-verification (`routes/email_change.rs`).
#[derive(Clone)]
pub struct EmailChangeEndpoints {
    pub request: Port<crate::application::email_change::RequestEmailChange>,
    pub confirm: Port<crate::application::email_change::ConfirmEmailChange>,
    pub revert: Port<crate::application::email_change::RevertEmailChange>,
}

/// The OpenID Connect provider: client registration (`routes/oauth2_clients.rs`) and the
/// `/oauth2/*` endpoints (the `oauth2` adapter), with the signer for discovery's JWKS.
#[derive(Clone)]
pub struct OAuth2Endpoints {
    pub register: Port<crate::application::oauth2::clients::RegisterClient>,
    pub update: Port<crate::application::oauth2::clients::UpdateClient>,
    pub delete: Port<crate::application::oauth2::clients::DeleteClient>,
    pub rotate: Port<crate::application::oauth2::clients::RotateClientSecret>,
    pub find: Port<crate::application::oauth2::ports::FindClient>,
    pub list: Port<crate::application::oauth2::ports::ListClients>,
    pub authorize: Port<crate::application::oauth2::Authorize>,
    pub token: Port<crate::application::oauth2::Token>,
    pub userinfo: Port<crate::application::oauth2::UserInfo>,
    pub introspect: Port<crate::application::oauth2::Introspect>,
    pub revoke: Port<crate::application::oauth2::Revoke>,
    pub end_session: Port<crate::application::oauth2::EndSession>,
    /// "Connected applications" on the account page.
    pub consents: Port<crate::application::oauth2::ports::ListConsents>,
    pub revoke_consent: Port<crate::application::oauth2::ports::RevokeConsent>,
    /// CORS on the token, userinfo and revocation endpoints: public clients' origins only.
    pub public_origin: Port<crate::application::oauth2::ports::PublicClientOrigin>,
    pub signer: std::sync::Arc<dyn crate::application::oauth2::JwtSigner>,
    pub issuer: String,
}

#[derive(Clone)]
pub struct ApiState {
    pub register: Port<RegisterUser>,
    pub completions: Port<AwaitCompletion>,
    pub users: Port<GetUser>,
    pub list_users: Port<ListUsers>,
    pub commands: Port<GetCommand>,
    pub user_commands: Port<ListUserCommands>,
    pub events: Port<crate::application::event_feed::ReadEvents>,
    /// The shared request rate (`http::rate_limit`), when RATE_LIMIT_SHARED.
    pub rate_limits: Port<crate::application::ports::TakeRequest>,
    pub auth: AuthEndpoints,
    pub account: AccountPorts,
    pub sessions: SessionPorts,
    pub mfa: MfaEndpoints,
    pub recovery: RecoveryEndpoints,
    pub email_change: EmailChangeEndpoints,
    pub oauth2: OAuth2Endpoints,
    pub authentication: AuthState,
    pub default_wait: Duration,
    pub reply_queue: String,
}

#[derive(Clone)]
pub struct OpsState {
    pub readiness: Port<CheckReadiness>,
    pub supervisor: SupervisorRef,
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such resource".into()))
}

/// A path's resource; any other method gets 405 with `Allow` listing the ones it serves.
fn resource(path: &str, methods: &[Method]) -> actix_web::Resource {
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
    }))
}

/// One served route: method, path (OpenAPI syntax) and handler. The server is built from this
/// table and the OpenAPI test checks the same table against the spec, so a route cannot be
/// served without being documented.
pub type RouteEntry = (Method, &'static str, actix_web::Route);

/// A table line: the method is stated once, for both the table and the handler's route.
pub fn route<F, Args>(method: Method, path: &'static str, handler: F) -> RouteEntry
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    (method.clone(), path, web::method(method).to(handler))
}

pub fn api_routes() -> Vec<RouteEntry> {
    vec![
        route(Method::GET, "/.well-known/jwks.json", auth::jwks),
        route(Method::GET, "/api-docs/openapi.json", openapi::openapi_json),
        route(Method::GET, "/docs", crate::http::docs_page::page),
        route(
            Method::GET,
            "/docs/assets/{file}",
            crate::http::docs_page::asset,
        ),
        route(Method::POST, "/api/v1/users", users::register),
        route(Method::GET, "/api/v1/users", users::list_users),
        route(Method::POST, "/api/v1/users/", users::register_with_slash),
        route(Method::GET, "/api/v1/users/me", users::me),
        route(
            Method::POST,
            "/api/v1/users/me/email",
            email_change::request_email_change,
        ),
        route(
            Method::GET,
            "/api/v1/users/me/sessions",
            sessions::list_sessions,
        ),
        route(
            Method::DELETE,
            "/api/v1/users/me/sessions/{id}",
            sessions::end_session,
        ),
        route(Method::POST, "/api/v1/users/me/mfa/totp", mfa::enrol),
        route(Method::DELETE, "/api/v1/users/me/mfa/totp", mfa::disable),
        route(
            Method::POST,
            "/api/v1/users/me/mfa/totp/confirm",
            mfa::confirm,
        ),
        route(Method::POST, "/api/v1/auth/login/mfa", mfa::login_mfa),
        route(Method::GET, "/api/v1/users/{id}", users::get_user),
        route(Method::PATCH, "/api/v1/users/{id}", users::update_user),
        route(Method::PUT, "/api/v1/users/{id}", users::update_user),
        route(Method::DELETE, "/api/v1/users/{id}", users::deactivate_user),
        route(
            Method::PUT,
            "/api/v1/users/{id}/password",
            users::change_password,
        ),
        route(Method::PUT, "/api/v1/users/{id}/role", roles::change_role),
        route(
            Method::GET,
            "/api/v1/users/{id}/commands",
            commands::list_user_commands,
        ),
        route(
            Method::POST,
            "/api/v1/users/{id}/verification",
            recovery::resend_verification_for,
        ),
        route(Method::GET, "/api/v1/commands/{id}", commands::get_command),
        route(Method::GET, "/api/v1/events", events::read_events),
        route(Method::POST, "/api/v1/auth/register", users::auth_register),
        route(Method::POST, "/api/v1/auth/login", auth::login),
        route(Method::POST, "/api/v1/auth/refresh", auth::refresh),
        route(Method::POST, "/api/v1/auth/logout", auth::logout),
        route(Method::POST, "/api/v1/auth/logout-all", auth::logout_all),
        route(Method::POST, "/api/v1/auth/verify", auth::verify),
        route(Method::GET, "/api/v1/auth/verify", auth::verify),
        route(
            Method::POST,
            "/api/v1/auth/password-reset",
            recovery::request_password_reset,
        ),
        route(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            recovery::confirm_password_reset,
        ),
        route(
            Method::POST,
            "/api/v1/auth/verify-email",
            recovery::verify_email,
        ),
        route(
            Method::POST,
            "/api/v1/auth/verify-email/resend",
            recovery::resend_verification,
        ),
        route(
            Method::POST,
            "/api/v1/auth/email-change/confirm",
            email_change::confirm_email_change,
        ),
        route(
            Method::POST,
            "/api/v1/auth/email-change/revert",
            email_change::revert_email_change,
        ),
        route(
            Method::POST,
            "/api/v1/oauth2/clients",
            oauth2_clients::create_client,
        ),
        route(
            Method::GET,
            "/api/v1/oauth2/clients",
            oauth2_clients::list_clients,
        ),
        route(
            Method::GET,
            "/api/v1/oauth2/clients/{id}",
            oauth2_clients::get_client,
        ),
        route(
            Method::PATCH,
            "/api/v1/oauth2/clients/{id}",
            oauth2_clients::update_client,
        ),
        route(
            Method::DELETE,
            "/api/v1/oauth2/clients/{id}",
            oauth2_clients::delete_client,
        ),
        route(
            Method::POST,
            "/api/v1/oauth2/clients/{id}/secret",
            oauth2_clients::rotate_secret,
        ),
    ]
}

/// Liveness and readiness: on the public port too, for load balancers.
pub fn probe_routes() -> Vec<RouteEntry> {
    vec![
        route(Method::GET, "/health", ops::health),
        route(Method::GET, "/ready", ops::ready),
    ]
}

/// The ops listener only (OPS_HOST:OPS_PORT, or a worker's WORKER_PORT): the probes again,
/// metrics and the supervision tree — what an operator sees but the internet must not.
pub fn ops_routes() -> Vec<RouteEntry> {
    let mut routes = probe_routes();
    routes.extend([
        route(Method::GET, "/metrics", ops::metrics),
        route(Method::GET, "/debug/supervision", ops::supervision),
    ]);
    routes
}

/// Registers the routes, one resource per path (so a wrong method on a known path is a 405).
pub fn register(cfg: &mut web::ServiceConfig, routes: Vec<RouteEntry>) {
    let methods_of = |path: &str| -> Vec<Method> {
        routes
            .iter()
            .filter(|(_, p, _)| *p == path)
            .map(|(m, _, _)| m.clone())
            .collect()
    };
    let all_methods: Vec<(&'static str, Vec<Method>)> = routes
        .iter()
        .map(|(_, path, _)| (*path, methods_of(path)))
        .collect();
    let mut resources: Vec<(&'static str, actix_web::Resource)> = Vec::new();
    for (_, path, route) in routes {
        match resources.iter().position(|(p, _)| *p == path) {
            Some(i) => {
                let (p, r) = resources.remove(i);
                resources.insert(i, (p, r.route(route)));
            }
            None => {
                let methods = &all_methods.iter().find(|(p, _)| *p == path).unwrap().1;
                resources.push((path, resource(path, methods).route(route)));
            }
        }
    }
    for (_, r) in resources {
        cfg.service(r);
    }
}

pub fn configure_api(cfg: &mut web::ServiceConfig, state: ApiState) {
    let json = web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .content_type_required(true)
        .error_handler(|err, _| json_error(err, BODY_LIMIT).into());
    let path = web::PathConfig::default()
        .error_handler(|err, _| ApiError::BadRequest(err.to_string()).into());
    let query = web::QueryConfig::default()
        .error_handler(|err, _| ApiError::BadRequest(err.to_string()).into());
    cfg.app_data(web::Data::new(state.authentication.clone()))
        .app_data(web::Data::new(state))
        .app_data(json)
        .app_data(path)
        .app_data(query);
    register(cfg, api_routes());
}

/// The public listener's share of the ops endpoints.
pub fn configure_probes(cfg: &mut web::ServiceConfig, state: OpsState) {
    cfg.app_data(web::Data::new(state));
    register(cfg, probe_routes());
}

pub fn configure_ops(cfg: &mut web::ServiceConfig, state: OpsState) {
    cfg.app_data(web::Data::new(state));
    register(cfg, ops_routes());
}
