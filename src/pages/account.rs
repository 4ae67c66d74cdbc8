//! `/account`: profile, email, password, two-factor authentication, sessions, deactivation.
//! Each form posts to its own path, which sends the REST route's message and, on success,
//! redirects back (`?done=` names the notice); a refused form comes back with its errors.

use super::forms::{Fields, Outcome, outcome, refusal};
use super::render::{Chrome, PageError, page_with, redirect};
use super::session::Visitor;
use super::sign_in::CsrfForm;
use crate::application::account::{ChangePassword, DeactivateAccount, UpdateProfile};
use crate::application::auth::Logout;
use crate::application::commands::ProfileChanges;
use crate::application::mfa_ports::FindTotp;
use crate::application::ports::{GetUser, Submission};
use crate::application::sessions::{EndSession, ListSessions};
use crate::domain::{PersonName, Principal, User, Username, ValidationErrors};
use crate::http::ApiState;
use crate::http::problem::ApiError;
use crate::http::routes::request::origin;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub address: String,
    pub last_used: String,
    pub current: bool,
}

/// What the two-factor section shows besides its state: a set-up in progress (shown once) or
/// the recovery codes just issued (shown once).
#[derive(Default)]
pub struct TwoFactorView {
    pub setup: Option<(String, String)>,
    pub recovery_codes: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    c: Chrome,
    title: &'static str,
    user: User,
    notice: Option<&'static str>,
    errors: Fields,
    two_factor_on: bool,
    two_factor: TwoFactorView,
    sessions: Vec<SessionRow>,
}

/// The signed-in visitor, or a redirect to the sign-in page that comes back here.
pub(super) fn signed_in(visitor: &Visitor, here: &str) -> Result<Principal, Box<HttpResponse>> {
    visitor
        .principal
        .clone()
        .ok_or_else(|| Box::new(redirect(visitor, &format!("/login?next={here}"))))
}

fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "profile" => "Your profile is saved.",
        "password" => "Your password is changed. Other sessions have ended.",
        "email" => {
            "Check the inbox of the new address: the change takes effect when you follow the link we sent there."
        }
        "session" => "The session has ended.",
        "verification" => {
            "A new verification link is on its way (unless one was sent a minute ago)."
        }
        "two-factor-off" => "Two-factor authentication is off.",
        _ => return None,
    })
}

pub(super) async fn render(
    state: &ApiState,
    visitor: &Visitor,
    principal: &Principal,
    notice: Option<&'static str>,
    errors: Fields,
    two_factor: TwoFactorView,
) -> Result<HttpResponse, PageError> {
    let user_id = principal.user_id;
    let user = state
        .users
        .ask(GetUser { id: user_id })
        .await??
        .ok_or(PageError::NotFound)?;
    let two_factor_on = state
        .mfa
        .status
        .ask(FindTotp { user_id })
        .await??
        .is_some_and(|t| t.confirmed);
    let sessions = state.sessions.list.ask(ListSessions { user_id }).await??;
    let sessions = sessions
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            device: s.user_agent.unwrap_or_else(|| "unknown device".into()),
            address: s.ip.unwrap_or_else(|| "unknown".into()),
            last_used: s.last_used_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            current: s.id == principal.session_id,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let c = Chrome::of(visitor);
    page_with(
        visitor,
        status,
        &AccountPage {
            c,
            title: "Your account",
            user,
            notice,
            errors,
            two_factor_on,
            two_factor,
            sessions,
        },
    )
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

pub async fn account_page(
    state: web::Data<ApiState>,
    visitor: Visitor,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let principal = match signed_in(&visitor, "/account") {
        Ok(p) => p,
        Err(to_login) => return Ok(*to_login),
    };
    render(
        &state,
        &visitor,
        &principal,
        notice(&query.done),
        Fields::default(),
        TwoFactorView::default(),
    )
    .await
}

/// Waits for a submitted command; back to the account page with `done`'s notice, or with why not.
pub(super) async fn settled(
    state: &ApiState,
    visitor: &Visitor,
    req: &HttpRequest,
    principal: &Principal,
    submitted: Result<Submission, ApiError>,
    done: &str,
) -> Result<HttpResponse, PageError> {
    let again = |errors: Fields| {
        render(
            state,
            visitor,
            principal,
            None,
            errors,
            TwoFactorView::default(),
        )
    };
    let submission = match submitted {
        Ok(s) => s,
        Err(ApiError::Validation(errors)) => return again(errors.into()).await,
        Err(ApiError::BreachedPassword { field }) => {
            return again(Fields::one(field, super::forms::BREACHED)).await;
        }
        Err(ApiError::Conflict { code, .. }) => {
            return again(Fields::one(refusal(code).0, refusal(code).1)).await;
        }
        Err(e) => return Err(e.into()),
    };
    match outcome(state, req, submission).await? {
        Outcome::Done | Outcome::Pending => Ok(redirect(visitor, &format!("/account?done={done}"))),
        Outcome::Refused(code) => again(Fields::one(refusal(code).0, refusal(code).1)).await,
        Outcome::InvalidToken => Err(PageError::Internal("an account form took no token".into())),
    }
}

/// The signed-in principal of a checked form, or the answer to give instead.
macro_rules! signed_in_form {
    ($visitor:expr, $req:expr, $csrf:expr) => {{
        $visitor.check_form(&$req, $csrf)?;
        match signed_in(&$visitor, "/account") {
            Ok(p) => p,
            Err(to_login) => return Ok(*to_login),
        }
    }};
}
pub(super) use signed_in_form;

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    first_name: String,
    last_name: String,
    username: String,
}

pub async fn update_profile(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let mut errors = ValidationErrors::new();
    let mut changes = ProfileChanges::default();
    PersonName::parse("first_name", &form.first_name)
        .map(|n| changes.first_name = Some(n))
        .unwrap_or_else(|e| errors.push(e));
    PersonName::parse("last_name", &form.last_name)
        .map(|n| changes.last_name = Some(n))
        .unwrap_or_else(|e| errors.push(e));
    Username::parse(&form.username)
        .map(|n| changes.username = Some(n))
        .unwrap_or_else(|e| errors.push(e));
    if !errors.is_empty() {
        return render(
            &state,
            &visitor,
            &principal,
            None,
            errors.into(),
            TwoFactorView::default(),
        )
        .await;
    }
    let user_id = principal.user_id;
    let asked = state.account.update.ask(UpdateProfile {
        principal: principal.clone(),
        user_id,
        changes,
        expected_version: None,
        origin: origin(&state, &req),
    });
    let submitted = asked.await?.map_err(ApiError::from);
    settled(&state, &visitor, &req, &principal, submitted, "profile").await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let PasswordForm {
        current_password,
        new_password,
        ..
    } = form.into_inner();
    let user_id = principal.user_id;
    let asked = state.account.change_password.ask(ChangePassword {
        principal: principal.clone(),
        user_id,
        current_password,
        new_password,
        origin: origin(&state, &req),
    });
    let submitted = asked.await?.map_err(ApiError::from);
    settled(&state, &visitor, &req, &principal, submitted, "password").await
}

#[derive(Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    csrf: String,
    session_id: uuid::Uuid,
}

pub async fn end_session(
    state: web::Data<ApiState>,
    mut visitor: Visitor,
    req: HttpRequest,
    form: web::Form<SessionForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    state
        .sessions
        .end
        .ask(EndSession {
            user_id: principal.user_id,
            session_id: form.session_id,
        })
        .await??;
    if form.session_id == principal.session_id {
        visitor.sign_out();
        return Ok(redirect(&visitor, "/login?done=signed-out"));
    }
    Ok(redirect(&visitor, "/account?done=session"))
}

pub async fn end_all_sessions(
    state: web::Data<ApiState>,
    mut visitor: Visitor,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    state
        .auth
        .logout
        .ask(Logout {
            principal,
            everywhere: true,
        })
        .await??;
    visitor.sign_out();
    Ok(redirect(&visitor, "/login?done=signed-out"))
}

#[derive(Deserialize)]
pub struct DeactivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn deactivate(
    state: web::Data<ApiState>,
    mut visitor: Visitor,
    req: HttpRequest,
    form: web::Form<DeactivateForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    if form.confirm != "yes" {
        let errors = Fields::one(
            "confirm",
            "Tick the box to confirm that the account is to be deactivated.",
        );
        return render(
            &state,
            &visitor,
            &principal,
            None,
            errors,
            TwoFactorView::default(),
        )
        .await;
    }
    let user_id = principal.user_id;
    let asked = state.account.deactivate.ask(DeactivateAccount {
        principal: principal.clone(),
        user_id,
        origin: origin(&state, &req),
    });
    let submission = asked.await?.map_err(ApiError::from)?;
    match outcome(&state, &req, submission).await? {
        Outcome::Done | Outcome::Pending => {
            visitor.sign_out();
            Ok(redirect(&visitor, "/login?done=deactivated"))
        }
        Outcome::Refused(code) => {
            render(
                &state,
                &visitor,
                &principal,
                None,
                Fields::one("confirm", refusal(code).1),
                TwoFactorView::default(),
            )
            .await
        }
        Outcome::InvalidToken => Err(PageError::Internal("deactivation took no token".into())),
    }
}
