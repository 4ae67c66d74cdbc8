//! `/api/v1/users`: registration and account changes (commands through RabbitMQ, answered when
//! the worker is done or with 202, see `command_reply`), reads (queries), listing for admins.

use super::ApiState;
use super::command_reply::{Success, respond};
use super::cursor::{decode_cursor, encode_cursor};
use super::request::{idempotency_key, if_match, origin, parse_id};
use crate::application::account::{ChangePassword, DeactivateAccount, UpdateProfile};
use crate::application::commands::ProfileChanges;
use crate::application::ports::{GetUser, ListUsers};
use crate::application::register_user::RegisterUser;
use crate::domain::{
    PersonName, RegistrationForm, Role, UserId, Username, ValidationErrors, can_manage,
};
use crate::http::auth::Authenticated;
use crate::http::dto::{
    Accepted, ChangePasswordRequest, ListQuery, Problem, RegisterUserRequest, UpdateUserRequest,
    UserListResponse, UserResponse,
};
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

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
            prefix: query.q.clone(),
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
