//! Route table. The API and the ops endpoints are separate scopes so that a worker can serve only
//! the latter.

pub mod commands;
pub mod ops;
pub mod users;

use super::problem::{ApiError, json_error};
use crate::application::ports::{AwaitCompletion, GetCommand, GetUser};
use crate::application::register_user::RegisterUser;
use crate::infrastructure::health::CheckReadiness;
use ::actors::{Port, SupervisorRef};
use actix_web::{HttpResponse, web};
use std::time::Duration;

pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub register: Port<RegisterUser>,
    pub completions: Port<AwaitCompletion>,
    pub users: Port<GetUser>,
    pub commands: Port<GetCommand>,
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

pub fn configure_api(cfg: &mut web::ServiceConfig, state: ApiState) {
    let json = web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .content_type_required(true)
        .error_handler(|err, _| json_error(err, BODY_LIMIT).into());
    let path = web::PathConfig::default()
        .error_handler(|err, _| ApiError::BadRequest(err.to_string()).into());
    cfg.app_data(web::Data::new(state))
        .app_data(json)
        .app_data(path)
        .service(
            web::scope("/api/v1")
                .service(
                    web::resource(["/users", "/users/"])
                        .route(web::post().to(users::register))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/users/{id}")
                        .route(web::get().to(users::get_user))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/commands/{id}")
                        .route(web::get().to(commands::get_command))
                        .default_service(web::to(method_not_allowed)),
                ),
        );
}

pub fn configure_ops(cfg: &mut web::ServiceConfig, state: OpsState) {
    cfg.app_data(web::Data::new(state))
        .service(
            web::resource("/health")
                .route(web::get().to(ops::health))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/ready")
                .route(web::get().to(ops::ready))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/metrics")
                .route(web::get().to(ops::metrics))
                .default_service(web::to(method_not_allowed)),
        )
        .service(web::resource("/debug/supervision").route(web::get().to(ops::supervision)));
}
