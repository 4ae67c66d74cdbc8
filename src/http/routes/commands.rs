//! `GET /api/v1/commands/{id}`: the state of an asynchronous command.

use super::ApiState;
use super::request::parse_id;
use crate::application::ports::GetCommand;
use crate::http::dto::{CommandResponse, Problem};
use crate::http::problem::ApiError;
use actix_web::{HttpResponse, web};

#[utoipa::path(get, path = "/api/v1/commands/{id}", tag = "commands", params(("id" = String, Path, description = "Command id")),
    responses((status = 200, body = CommandResponse), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_command(
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "command")?;
    match state.commands.ask(GetCommand { id }).await?? {
        Some(record) => Ok(HttpResponse::Ok().json(CommandResponse::from(&record))),
        None => Err(ApiError::NotFound(format!("command {id} not found"))),
    }
}
