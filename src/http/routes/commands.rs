//! `GET /api/v1/commands/{id}`: the state of an asynchronous command, and
//! `GET /api/v1/users/{id}/commands`: what was last done to a user (the user or an admin).

use super::ApiState;
use super::request::parse_id;
use crate::application::ports::{GetCommand, ListUserCommands};
use crate::domain::{UserId, can_manage};
use crate::http::auth::Authenticated;
use crate::http::dto::{CommandList, CommandResponse, Problem};
use crate::http::problem::ApiError;
use actix_web::{HttpResponse, web};

/// How many of a user's commands are listed: a recent history, not an audit log.
pub const HISTORY: u32 = 20;

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

#[utoipa::path(get, path = "/api/v1/users/{id}/commands", tag = "commands", security(("bearer" = [])), params(("id" = String, Path, description = "User id (UUID)")),
    responses((status = 200, description = "The user's latest applied commands (at most 20), newest first; a command refused before it named the user is not listed", body = CommandList),
    (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "Not yours (only the user and admins see this)", body = Problem, content_type = "application/problem+json")))]
pub async fn list_user_commands(
    state: web::Data<ApiState>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::from_uuid(parse_id(&id, "user")?);
    if !can_manage(&who.0, id) {
        return Err(ApiError::NotFound(format!("user {id} not found")));
    }
    let records = state
        .user_commands
        .ask(ListUserCommands {
            user_id: id,
            limit: HISTORY,
        })
        .await??;
    Ok(HttpResponse::Ok().json(CommandList {
        items: records.iter().map(CommandResponse::from).collect(),
    }))
}
