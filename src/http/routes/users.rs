//! `POST /api/v1/users` (register, through RabbitMQ) and `GET /api/v1/users/{id}`.

use super::ApiState;
use crate::application::commands::{CommandRecord, CommandStatus};
use crate::application::ports::{AwaitCompletion, GetUser, Submission};
use crate::application::register_user::RegisterUser;
use crate::domain::{RegistrationForm, UserId};
use crate::http::dto::{RegisterUserRequest, UserResponse};
use crate::http::middleware::RequestId;
use crate::http::prefer::Prefer;
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use uuid::Uuid;

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
        })?;
    Ok(Some(key.to_owned()))
}

pub fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::BadRequest(format!("{what} id {raw:?} is not a UUID")))
}

pub(super) fn accepted(command_id: Uuid) -> HttpResponse {
    let location = format!("/api/v1/commands/{command_id}");
    HttpResponse::Accepted()
        .insert_header((header::LOCATION, location.clone()))
        .json(serde_json::json!({ "command_id": command_id, "status": "pending", "location": location }))
}

#[tracing::instrument(name = "register", skip_all)]
pub async fn register(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<RegisterUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let prefer = Prefer::from_headers(req.headers());
    let idempotency_key = idempotency_key(&req)?;
    let RegisterUserRequest {
        email,
        username,
        first_name,
        last_name,
        password,
    } = body.into_inner();
    let (details, password) =
        RegistrationForm::parse(&email, &username, &first_name, &last_name, password)
            .map_err(ApiError::Validation)?;
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let submission = state
        .register
        .ask(RegisterUser {
            details,
            password,
            idempotency_key,
            request_id,
            reply_to: Some(state.reply_queue.clone()),
        })
        .await??;
    let command_id = match submission {
        Submission::Accepted { command_id } | Submission::Replayed { command_id } => command_id,
        Submission::KeyReused => return Err(ApiError::IdempotencyKeyReused),
    };
    if prefer.respond_async {
        return Ok(accepted(command_id));
    }
    let wait = prefer.wait.unwrap_or(state.default_wait);
    let record = state
        .completions
        .ask(AwaitCompletion { command_id, wait })
        .await??;
    outcome(&state, command_id, record).await
}

/// Maps a command's state to the response the client would have had synchronously.
async fn outcome(
    state: &ApiState,
    command_id: Uuid,
    record: Option<CommandRecord>,
) -> Result<HttpResponse, ApiError> {
    let Some(record) = record else {
        return Err(ApiError::Internal(format!(
            "command {command_id} vanished from the log"
        )));
    };
    match record.status {
        CommandStatus::Pending => Ok(accepted(command_id)),
        CommandStatus::Failed => Err(ApiError::Conflict {
            code: record.error_code.unwrap_or_else(|| "conflict".into()),
            detail: record.error_detail.unwrap_or_default(),
            command_id: Some(command_id),
        }),
        CommandStatus::Succeeded => {
            let location = record.location.unwrap_or_default();
            let id = location.rsplit('/').next().and_then(UserId::parse_str);
            let user = match id {
                Some(id) => state.users.ask(GetUser { id }).await??,
                None => None,
            };
            let user = user.ok_or_else(|| {
                ApiError::Internal(format!("user of command {command_id} not found"))
            })?;
            Ok(HttpResponse::Created()
                .insert_header((header::LOCATION, location))
                .insert_header((header::ETAG, format!("\"{}\"", user.version)))
                .json(UserResponse::from(&user)))
        }
    }
}

#[tracing::instrument(name = "get_user", skip_all)]
pub async fn get_user(
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::from_uuid(parse_id(&id, "user")?);
    match state.users.ask(GetUser { id }).await?? {
        Some(user) => Ok(HttpResponse::Ok()
            .insert_header((header::ETAG, format!("\"{}\"", user.version)))
            .json(UserResponse::from(&user))),
        None => Err(ApiError::NotFound(format!("user {id} not found"))),
    }
}
