//! `/admin` (admins only; anyone else gets 404): the users, searched by email or username
//! prefix with cursor paging, and a user's page: role, deactivation, sign out all sessions,
//! resend the verification mail, the latest commands. The same `ListUsers`, `GetUser`,
//! `ChangeRole`, `DeactivateAccount`, `ResendVerification` and `ListUserCommands` as the REST API.

use super::forms::{Fields, Outcome, outcome, refusal};
use super::render::{Chrome, PageError, page, page_with, redirect};
use super::session::Visitor;
use super::sign_in::CsrfForm;
use crate::application::account::DeactivateAccount;
use crate::application::commands::CommandRecord;
use crate::application::ports::{GetUser, ListUserCommands, ListUsers, RevokeSessions, Submission};
use crate::application::recovery::ResendVerification;
use crate::application::roles::{ChangeRole, RoleError};
use crate::application::sessions::ListSessions;
use crate::domain::{Principal, Role, User, UserId};
use crate::http::ApiState;
use crate::http::dto::UserResponse;
use crate::http::problem::ApiError;
use crate::http::routes::commands::HISTORY;
use crate::http::routes::cursor::{decode_cursor, encode_cursor};
use crate::http::routes::request::origin;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

const PAGE_SIZE: u32 = 20;

/// The admin, or 404: the console's existence is not revealed to anyone else.
pub(super) fn admin(visitor: &Visitor) -> Result<Principal, PageError> {
    visitor
        .principal
        .clone()
        .filter(|p| p.role == Role::Admin)
        .ok_or(PageError::NotFound)
}

#[derive(Template)]
#[template(path = "pages/admin_users.html")]
struct UsersPage {
    c: Chrome,
    title: &'static str,
    q: String,
    users: Vec<User>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
}

pub async fn users_page(
    state: web::Data<ApiState>,
    visitor: Visitor,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, PageError> {
    admin(&visitor)?;
    let after = match query.cursor.as_deref().map(decode_cursor).transpose() {
        Ok(after) => after,
        Err(_) => return Err(PageError::BadForm("cursor".into())),
    };
    let q = query.q.trim().to_owned();
    let list = ListUsers {
        limit: PAGE_SIZE,
        after,
        offset: None,
        prefix: Some(q.clone()).filter(|q| !q.is_empty()),
    };
    let found = state.list_users.ask(list).await??;
    let next = found
        .has_more
        .then(|| {
            found
                .users
                .last()
                .map(|u| encode_cursor(&UserResponse::from(u)))
        })
        .flatten();
    let c = Chrome::of(&visitor);
    page(
        &visitor,
        &UsersPage {
            c,
            title: "Users",
            q,
            users: found.users,
            next,
        },
    )
}

#[derive(Template)]
#[template(path = "pages/admin_user.html")]
struct UserPage {
    c: Chrome,
    title: &'static str,
    user: User,
    sessions: usize,
    commands: Vec<CommandRecord>,
    notice: Option<&'static str>,
    errors: Fields,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn user_id(raw: &str) -> Result<UserId, PageError> {
    UserId::parse_str(raw).ok_or(PageError::NotFound)
}

/// What every form on a user's page starts with: the admin, the form's CSRF token checked, and
/// the user the form is about.
fn admin_form(
    visitor: &Visitor,
    req: &HttpRequest,
    id: &str,
    csrf: &str,
) -> Result<(Principal, UserId), PageError> {
    let principal = admin(visitor)?;
    visitor.check_form(req, csrf)?;
    Ok((principal, user_id(id)?))
}

async fn show_user(
    state: &ApiState,
    visitor: &Visitor,
    id: UserId,
    notice: Option<&'static str>,
    errors: Fields,
) -> Result<HttpResponse, PageError> {
    let user = state
        .users
        .ask(GetUser { id })
        .await??
        .ok_or(PageError::NotFound)?;
    let sessions = state
        .sessions
        .list
        .ask(ListSessions { user_id: id })
        .await??
        .len();
    let commands = state
        .user_commands
        .ask(ListUserCommands {
            user_id: id,
            limit: HISTORY,
        })
        .await??;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    let c = Chrome::of(visitor);
    page_with(
        visitor,
        status,
        &UserPage {
            c,
            title: "User",
            user,
            sessions,
            commands,
            notice,
            errors,
        },
    )
}

pub async fn user_page(
    state: web::Data<ApiState>,
    visitor: Visitor,
    id: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    admin(&visitor)?;
    let notice = match query.done.as_str() {
        "role" => Some("The role is changed."),
        "deactivated" => Some("The account is deactivated; its sessions have ended."),
        "sessions" => Some("Every session of this user has ended."),
        "verification" => Some("A new verification link is on its way to the user."),
        _ => None,
    };
    show_user(&state, &visitor, user_id(&id)?, notice, Fields::default()).await
}

async fn settled(
    state: &ApiState,
    visitor: &Visitor,
    req: &HttpRequest,
    id: UserId,
    submission: Submission,
    done: &str,
) -> Result<HttpResponse, PageError> {
    match outcome(state, req, submission).await? {
        Outcome::Done | Outcome::Pending => Ok(redirect(
            visitor,
            &format!("/admin/users/{}?done={done}", id.as_uuid()),
        )),
        Outcome::Refused(code) => {
            show_user(
                state,
                visitor,
                id,
                None,
                Fields::one("form", refusal(code).1),
            )
            .await
        }
        Outcome::InvalidToken => Err(PageError::Internal("an admin form took no token".into())),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    role: String,
}

pub async fn change_role(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, PageError> {
    let (principal, id) = admin_form(&visitor, &req, &id, &form.csrf)?;
    let role = match form.role.as_str() {
        "admin" => Role::Admin,
        "user" => Role::User,
        _ => return Err(PageError::BadForm("role".into())),
    };
    let asked = state.account.change_role.ask(ChangeRole {
        principal,
        user_id: id,
        role,
        origin: origin(&state, &req),
    });
    let submission = match asked.await? {
        Ok(s) => s,
        Err(RoleError::Forbidden) => return Err(PageError::NotFound),
        Err(RoleError::Account(e)) => return Err(ApiError::from(e).into()),
    };
    settled(&state, &visitor, &req, id, submission, "role").await
}

pub async fn deactivate(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (principal, id) = admin_form(&visitor, &req, &id, &form.csrf)?;
    let asked = state.account.deactivate.ask(DeactivateAccount {
        principal,
        user_id: id,
        origin: origin(&state, &req),
    });
    let submission = asked.await?.map_err(ApiError::from)?;
    settled(&state, &visitor, &req, id, submission, "deactivated").await
}

pub async fn end_sessions(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (_, id) = admin_form(&visitor, &req, &id, &form.csrf)?;
    state
        .sessions
        .revoke
        .ask(RevokeSessions::AllOf(id))
        .await??;
    Ok(redirect(
        &visitor,
        &format!("/admin/users/{}?done=sessions", id.as_uuid()),
    ))
}

pub async fn resend_verification(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (principal, id) = admin_form(&visitor, &req, &id, &form.csrf)?;
    let asked = state.recovery.resend_verification.ask(ResendVerification {
        principal,
        user_id: id,
        origin: origin(&state, &req),
    });
    let submission = asked.await?.map_err(ApiError::from)?;
    settled(&state, &visitor, &req, id, submission, "verification").await
}
