//! Answering a command: wait for the worker as long as `Prefer` allows, then answer with the
//! outcome (201/200/204), the matching client error, or `202 Accepted` and the command's URL.

use super::ApiState;
use crate::application::commands::{CommandRecord, CommandStatus, CommandSubject, FailureCode};
use crate::application::ports::{AwaitCompletion, GetUser, Submission};
use crate::http::dto::{UserResponse, user_location};
use crate::http::prefer::Prefer;
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use uuid::Uuid;

pub(super) fn accepted(command_id: Uuid) -> HttpResponse {
    let location = crate::http::dto::command_location(command_id);
    HttpResponse::Accepted()
        .insert_header((header::LOCATION, location.clone()))
        .json(serde_json::json!({ "command_id": command_id, "status": "pending", "location": location }))
}

/// What a successful command answers with.
#[derive(Clone, Copy)]
pub(super) enum Success {
    Created,
    Updated,
    NoContent,
}

/// Waits (per `Prefer`) for the command and maps its state to the synchronous answer.
pub(super) async fn respond(
    state: &ApiState,
    req: &HttpRequest,
    submission: Submission,
    success: Success,
) -> Result<HttpResponse, ApiError> {
    match settle(state, req, submission).await? {
        Settled::Pending(command_id) => Ok(accepted(command_id)),
        Settled::Succeeded(command_id, record) => outcome(state, command_id, record, success).await,
    }
}

/// 202 for a command the caller is never made to wait for (its outcome tells nothing).
pub(super) fn accepted_now(submission: Submission) -> Result<HttpResponse, ApiError> {
    match submission {
        Submission::Accepted { command_id } | Submission::Replayed { command_id } => {
            Ok(accepted(command_id))
        }
        Submission::KeyReused => Err(ApiError::IdempotencyKeyReused),
    }
}

/// Where a command stands once the caller has waited as long as `Prefer` allows.
pub enum Settled {
    Pending(Uuid),
    Succeeded(Uuid, CommandRecord),
}

/// Waits (per `Prefer`) for the command; a failed command is the matching client error.
pub async fn settle(
    state: &ApiState,
    req: &HttpRequest,
    submission: Submission,
) -> Result<Settled, ApiError> {
    let command_id = match submission {
        Submission::Accepted { command_id } | Submission::Replayed { command_id } => command_id,
        Submission::KeyReused => return Err(ApiError::IdempotencyKeyReused),
    };
    let prefer = Prefer::from_headers(req.headers());
    if prefer.respond_async {
        return Ok(Settled::Pending(command_id));
    }
    let wait = prefer.wait.unwrap_or(state.default_wait);
    let record = state
        .completions
        .ask(AwaitCompletion { command_id, wait })
        .await??;
    let Some(record) = record else {
        return Err(ApiError::Internal(format!(
            "command {command_id} vanished from the log"
        )));
    };
    match record.status {
        CommandStatus::Pending => Ok(Settled::Pending(command_id)),
        CommandStatus::Failed => Err(match record.error_code {
            Some(FailureCode::VersionMismatch) => ApiError::PreconditionFailed,
            Some(FailureCode::UserNotFound) => ApiError::NotFound("user not found".into()),
            Some(FailureCode::InvalidToken) => ApiError::InvalidToken,
            Some(code) => ApiError::Conflict {
                code,
                detail: record.error_detail.unwrap_or_default(),
                command_id: Some(command_id),
            },
            None => ApiError::Internal(format!("command {command_id} failed without a code")),
        }),
        CommandStatus::Succeeded => Ok(Settled::Succeeded(command_id, record)),
    }
}

/// The synchronous answer to a command that succeeded.
async fn outcome(
    state: &ApiState,
    command_id: Uuid,
    record: CommandRecord,
    success: Success,
) -> Result<HttpResponse, ApiError> {
    if let Success::NoContent = success {
        return Ok(HttpResponse::NoContent().finish());
    }
    let user = match record.subject {
        Some(CommandSubject::User(id)) => state.users.ask(GetUser { id }).await??,
        _ => None,
    };
    let user =
        user.ok_or_else(|| ApiError::Internal(format!("user of command {command_id} not found")))?;
    let mut response = match success {
        Success::Created => HttpResponse::Created(),
        _ => HttpResponse::Ok(),
    };
    Ok(response
        .insert_header((header::LOCATION, user_location(user.id)))
        .insert_header((header::ETAG, format!("\"{}\"", user.version)))
        .json(UserResponse::from(&user)))
}
