//! `/api/v1/users/me/sessions`: the caller's live sessions, and ending one of them.

use super::ApiState;
use super::request::parse_id;
use crate::application::sessions::{EndSession, ListSessions};
use crate::http::auth::Authenticated;
use crate::http::dto::Problem;
use crate::http::problem::ApiError;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The last login, token refresh or authenticated request (to the minute) on this session.
    pub last_used_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session of the access token making this request.
    pub current: bool,
}

#[utoipa::path(get, path = "/api/v1/users/me/sessions", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, description = "Live sessions, most recently used first", body = [SessionResponse]), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json")))]
pub async fn list_sessions(
    state: web::Data<ApiState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let sessions = state
        .sessions
        .list
        .ask(ListSessions {
            user_id: who.0.user_id,
        })
        .await??;
    let body: Vec<SessionResponse> = sessions
        .into_iter()
        .map(|s| SessionResponse {
            id: s.id.to_string(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            user_agent: s.user_agent,
            ip: s.ip,
            current: s.id == who.0.session_id,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(delete, path = "/api/v1/users/me/sessions/{id}", tag = "sessions", security(("bearer" = [])), params(("id" = String, Path, description = "Session id (UUID)")),
    responses((status = 204, description = "Ended: its access and refresh tokens stop working on every replica"), (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No live session of yours with this id", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "end_session", skip_all, fields(session = %id))]
pub async fn end_session(
    state: web::Data<ApiState>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let session_id = parse_id(&id, "session")?;
    let ended = state
        .sessions
        .end
        .ask(EndSession {
            user_id: who.0.user_id,
            session_id,
        })
        .await??;
    if !ended {
        return Err(ApiError::NotFound(format!(
            "session {session_id} not found"
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}
