//! Route table. The API and the ops endpoints are separate so that a worker can serve only the
//! latter.

pub mod auth;
pub mod commands;
pub mod ops;
pub mod users;

use super::auth::AuthState;
use super::problem::{ApiError, json_error};
use crate::application::account::{ChangePassword, DeactivateAccount, UpdateProfile};
use crate::application::auth::{Login, Logout, Refresh};
use crate::application::ports::{AwaitCompletion, GetCommand, GetUser, ListUsers};
use crate::application::register_user::RegisterUser;
use crate::infrastructure::health::CheckReadiness;
use ::actors::{Port, SupervisorRef};
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
}

#[derive(Clone)]
pub struct ApiState {
    pub register: Port<RegisterUser>,
    pub completions: Port<AwaitCompletion>,
    pub users: Port<GetUser>,
    pub list_users: Port<ListUsers>,
    pub commands: Port<GetCommand>,
    pub auth: AuthEndpoints,
    pub account: AccountPorts,
    pub authentication: AuthState,
    pub default_wait: Duration,
    pub reply_queue: String,
}

#[derive(Clone)]
pub struct OpsState {
    pub readiness: Port<CheckReadiness>,
    pub supervisor: SupervisorRef,
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such resource".into()))
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

pub fn configure_api(cfg: &mut web::ServiceConfig, state: ApiState) {
    let json = web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .content_type_required(true)
        .error_handler(|err, _| json_error(err, BODY_LIMIT).into());
    let path = web::PathConfig::default().error_handler(|err, _| ApiError::BadRequest(err.to_string()).into());
    let query = web::QueryConfig::default().error_handler(|err, _| ApiError::BadRequest(err.to_string()).into());
    cfg.app_data(web::Data::new(state.authentication.clone()))
        .app_data(web::Data::new(state))
        .app_data(json)
        .app_data(path)
        .app_data(query)
        .service(resource("/.well-known/jwks.json").route(web::get().to(auth::jwks)))
        .service(
            web::scope("/api/v1")
                .service(
                    resource("/users")
                        .route(web::post().to(users::register))
                        .route(web::get().to(users::list_users)),
                )
                .service(resource("/users/").route(web::post().to(users::register)))
                .service(resource("/users/me").route(web::get().to(users::me)))
                .service(
                    resource("/users/{id}")
                        .route(web::get().to(users::get_user))
                        .route(web::patch().to(users::update_user))
                        .route(web::put().to(users::update_user))
                        .route(web::delete().to(users::deactivate_user)),
                )
                .service(resource("/users/{id}/password").route(web::put().to(users::change_password)))
                .service(resource("/commands/{id}").route(web::get().to(commands::get_command)))
                .service(resource("/auth/register").route(web::post().to(users::register)))
                .service(resource("/auth/login").route(web::post().to(auth::login)))
                .service(resource("/auth/refresh").route(web::post().to(auth::refresh)))
                .service(resource("/auth/logout").route(web::post().to(auth::logout)))
                .service(resource("/auth/logout-all").route(web::post().to(auth::logout_all)))
                .service(resource("/auth/verify").route(web::post().to(auth::verify)).route(web::get().to(auth::verify))),
        );
}

pub fn configure_ops(cfg: &mut web::ServiceConfig, state: OpsState) {
    cfg.app_data(web::Data::new(state))
        .service(resource("/health").route(web::get().to(ops::health)))
        .service(resource("/ready").route(web::get().to(ops::ready)))
        .service(resource("/metrics").route(web::get().to(ops::metrics)))
        .service(resource("/debug/supervision").route(web::get().to(ops::supervision)));
}
