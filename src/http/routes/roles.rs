//! `PUT /api/v1/users/{id}/role`: an admin promotes or demotes an account (a command through
//! RabbitMQ, answered like the other account changes).

use super::ApiState;
use super::command_reply::{Success, respond};
use super::request::{origin, parse_id};
use crate::application::roles::ChangeRole;
use crate::domain::{FieldError, Role, UserId};
use crate::http::auth::Authenticated;
use crate::http::dto::{Accepted, Problem, UserResponse};
use crate::http::problem::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    /// `"user"` or `"admin"`.
    pub role: String,
}

#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "users", security(("bearer" = [])), request_body = ChangeRoleRequest,
    params(("id" = String, Path, description = "User id (UUID)"), ("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 200, description = "The user with the new role; emits UserRoleChanged", body = UserResponse), (status = 202, description = "Accepted; poll the command (Prefer: respond-async, or the outcome was not known in time)", body = Accepted), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"), (status = 409, description = "`/problems/last-admin`: the last active admin cannot be demoted", body = Problem, content_type = "application/problem+json"), (status = 422, description = "role is neither user nor admin", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "change_role", skip_all, fields(target = %id))]
pub async fn change_role(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<ChangeRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::from_uuid(parse_id(&id, "user")?);
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::Validation(
            FieldError::new("role", "invalid_role", "role must be \"user\" or \"admin\"").into(),
        )
    })?;
    let origin = origin(&state, &req);
    let submission = state
        .account
        .change_role
        .ask(ChangeRole {
            principal: who.0,
            user_id,
            role,
            origin,
        })
        .await??;
    respond(&state, &req, submission, Success::Updated).await
}
