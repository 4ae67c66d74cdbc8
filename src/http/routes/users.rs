//! `/api/v1/users`: registration and account changes (commands through RabbitMQ, answered when
//! the worker is done or with 202), reads (queries), listing for admins.

use super::ApiState;
use crate::application::account::{ChangePassword, DeactivateAccount, Origin, UpdateProfile};
use crate::application::commands::{CommandRecord, CommandStatus, CommandSubject, ProfileChanges};
use crate::application::ports::{AwaitCompletion, GetUser, ListUsers, Submission};
use crate::application::register_user::RegisterUser;
use crate::domain::{
    PersonName, RegistrationForm, Role, UserId, Username, ValidationErrors, can_manage,
    check_strength,
};
use crate::http::auth::Authenticated;
use crate::http::dto::{
    Accepted, ChangePasswordRequest, ListQuery, Problem, RegisterUserRequest, UpdateUserRequest,
    UserListResponse, UserResponse, user_location,
};
use crate::http::middleware::RequestId;
use crate::http::prefer::Prefer;
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use base64::Engine as _;
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

pub(super) fn origin(state: &ApiState, req: &HttpRequest) -> Origin {
    Origin {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        traceparent: req
            .extensions()
            .get::<crate::trace_context::TraceContext>()
            .map(ToString::to_string),
        reply_to: Some(state.reply_queue.clone()),
    }
}

pub(super) fn accepted(command_id: Uuid) -> HttpResponse {
    let location = format!("/api/v1/commands/{command_id}");
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

/// Where a command stands once the caller has waited as long as `Prefer` allows.
pub(super) enum Settled {
    Pending(Uuid),
    Succeeded(Uuid, CommandRecord),
}

/// Waits (per `Prefer`) for the command; a failed command is the matching client error.
pub(super) async fn settle(
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

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = RegisterUserRequest,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the original outcome for the same body")),
    responses((status = 201, description = "Registered", body = UserResponse), (status = 202, description = "Accepted; poll the command (Prefer: respond-async, or the outcome was not known in time)", body = Accepted), (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Email or username taken", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "register", skip_all)]
pub async fn register(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<RegisterUserRequest>,
) -> Result<HttpResponse, ApiError> {
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
    check_strength(&password, details.username.as_str(), details.email.as_str())
        .map_err(|e| ApiError::Validation(e.into()))?;
    let origin = origin(&state, &req);
    let submission = state
        .register
        .ask(RegisterUser {
            details,
            password,
            idempotency_key,
            request_id: origin.request_id,
            traceparent: origin.traceparent,
            reply_to: origin.reply_to,
        })
        .await??;
    respond(&state, &req, submission, Success::Created).await
}

async fn read_user(
    state: &ApiState,
    who: &Authenticated,
    id: UserId,
) -> Result<HttpResponse, ApiError> {
    // Someone else's account is "not found": existence is not revealed.
    let not_found = || ApiError::NotFound(format!("user {id} not found"));
    if !can_manage(&who.0, id) {
        return Err(not_found());
    }
    let user = state
        .users
        .ask(GetUser { id })
        .await??
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", user.version)))
        .json(UserResponse::from(&user)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path, description = "User id (UUID)")),
    responses((status = 200, description = "The user; ETag carries its version", body = UserResponse), (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such user, or not yours", body = Problem, content_type = "application/problem+json")))]
pub async fn get_user(
    state: web::Data<ApiState>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::from_uuid(parse_id(&id, "user")?);
    read_user(&state, &who, id).await
}

#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), responses((status = 200, body = UserResponse), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json")))]
pub async fn me(state: web::Data<ApiState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let id = who.0.user_id;
    read_user(&state, &who, id).await
}

const MAX_PAGE: u32 = 100;

fn encode_cursor(u: &UserResponse) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        u.created_at.to_rfc3339(),
        u.id
    ))
}

fn decode_cursor(raw: &str) -> Result<(chrono::DateTime<chrono::Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest("the cursor is not one this API issued".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (at, id) = text.split_once('|').ok_or_else(bad)?;
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad())?
        .with_timezone(&chrono::Utc);
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = UserListResponse), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json")))]
pub async fn list_users(
    state: web::Data<ApiState>,
    who: Authenticated,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    if who.0.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let limit = query.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    if query.cursor.is_some() && query.offset.is_some() {
        return Err(ApiError::BadRequest(
            "use either cursor or offset, not both".into(),
        ));
    }
    // PostgreSQL's OFFSET is a signed 64-bit integer (found by the contract run: a larger one
    // wrapped negative and failed as a 503).
    if query.offset.is_some_and(|o| i64::try_from(o).is_err()) {
        return Err(ApiError::BadRequest(format!(
            "offset must be at most {}",
            i64::MAX
        )));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = state
        .list_users
        .ask(ListUsers {
            limit,
            after,
            offset: query.offset,
        })
        .await??;
    let items: Vec<UserResponse> = page.users.iter().map(UserResponse::from).collect();
    let next_cursor = page
        .has_more
        .then(|| items.last().map(encode_cursor))
        .flatten();
    Ok(HttpResponse::Ok().json(UserListResponse {
        items,
        limit,
        next_cursor,
        offset: query.offset,
    }))
}

/// `If-Match: "7"` → Some(7); absent or `*` → None.
fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| ApiError::BadRequest("malformed If-Match".into()))?
        .trim();
    if raw == "*" {
        return Ok(None);
    }
    let tag = raw.trim_start_matches("W/").trim_matches('"');
    tag.parse()
        .map(Some)
        .map_err(|_| ApiError::PreconditionFailed)
}

#[utoipa::path(method(patch, put), path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), request_body = UpdateUserRequest,
    params(("id" = String, Path, description = "User id (UUID)"), ("If-Match" = Option<String>, Header, description = "The ETag you read"), ("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 200, body = UserResponse), (status = 202, description = "Accepted; poll the command (Prefer: respond-async, or the outcome was not known in time)", body = Accepted), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such user, or not yours", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Email or username taken", body = Problem, content_type = "application/problem+json"), (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json")))]
pub async fn update_user(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::from_uuid(parse_id(&id, "user")?);
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let mut changes = ProfileChanges::default();
    if let Some(v) = &body.first_name {
        PersonName::parse("first_name", v)
            .map(|n| changes.first_name = Some(n))
            .unwrap_or_else(|e| errors.push(e));
    }
    if let Some(v) = &body.last_name {
        PersonName::parse("last_name", v)
            .map(|n| changes.last_name = Some(n))
            .unwrap_or_else(|e| errors.push(e));
    }
    if let Some(v) = &body.username {
        Username::parse(v)
            .map(|n| changes.username = Some(n))
            .unwrap_or_else(|e| errors.push(e));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if changes.changed_fields().is_empty() {
        return Err(ApiError::Validation(
            crate::domain::FieldError::new(
                "body",
                "required",
                "name at least one of first_name, last_name, username",
            )
            .into(),
        ));
    }
    // After the body: an invalid request is a 422 whatever version it names.
    let expected_version = if_match(&req)?;
    let origin = origin(&state, &req);
    let submission = state
        .account
        .update
        .ask(UpdateProfile {
            principal: who.0,
            user_id,
            changes,
            expected_version,
            origin,
        })
        .await??;
    respond(&state, &req, submission, Success::Updated).await
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path, description = "User id (UUID)"), ("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "Deactivated (repeating it is harmless)"), (status = 202, description = "Accepted; poll the command (Prefer: respond-async, or the outcome was not known in time)", body = Accepted), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such user, or not yours", body = Problem, content_type = "application/problem+json")))]
pub async fn deactivate_user(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::from_uuid(parse_id(&id, "user")?);
    let origin = origin(&state, &req);
    let submission = state
        .account
        .deactivate
        .ask(DeactivateAccount {
            principal: who.0,
            user_id,
            origin,
        })
        .await??;
    respond(&state, &req, submission, Success::NoContent).await
}

#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "users", security(("bearer" = [])), request_body = ChangePasswordRequest, params(("id" = String, Path, description = "User id (UUID)"), ("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "Changed; your other sessions are revoked"), (status = 202, description = "Accepted; poll the command (Prefer: respond-async, or the outcome was not known in time)", body = Accepted), (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such user, or not yours", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json")))]
pub async fn change_password(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::from_uuid(parse_id(&id, "user")?);
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    let origin = origin(&state, &req);
    let submission = state
        .account
        .change_password
        .ask(ChangePassword {
            principal: who.0,
            user_id,
            current_password,
            new_password,
            origin,
        })
        .await??;
    respond(&state, &req, submission, Success::NoContent).await
}

#[utoipa::path(post, path = "/api/v1/users/", tag = "users", request_body = RegisterUserRequest,
    responses((status = 201, description = "Same as POST /api/v1/users", body = UserResponse), (status = 202, description = "Accepted; poll the command (Prefer: respond-async, or the outcome was not known in time)", body = Accepted)))]
pub async fn register_with_slash(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<RegisterUserRequest>,
) -> Result<HttpResponse, ApiError> {
    register(state, req, body).await
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterUserRequest,
    responses((status = 201, description = "Public self-registration; same as POST /api/v1/users", body = UserResponse), (status = 202, description = "Accepted; poll the command (Prefer: respond-async, or the outcome was not known in time)", body = Accepted)))]
pub async fn auth_register(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Json<RegisterUserRequest>,
) -> Result<HttpResponse, ApiError> {
    register(state, req, body).await
}
