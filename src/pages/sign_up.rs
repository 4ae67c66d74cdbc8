//! `/register`: the same `RegisterUser` use case as `POST /api/v1/users`, waited for so that
//! a taken address or username is shown next to its field.

use super::forms::{BREACHED, Fields, Outcome, outcome, refusal};
use super::render::{Chrome, PageError, page, page_with};
use super::session::Visitor;
use crate::application::account::AccountError;
use crate::application::register_user::RegisterUser;
use crate::domain::RegistrationForm;
use crate::http::ApiState;
use crate::http::routes::request::origin;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "pages/register.html")]
struct RegisterPage {
    c: Chrome,
    title: &'static str,
    form: RegisterForm,
    errors: Fields,
}

#[derive(Template)]
#[template(path = "pages/registered.html")]
struct RegisteredPage {
    c: Chrome,
    title: &'static str,
    email: String,
    pending: bool,
}

pub async fn register_page(visitor: Visitor) -> Result<HttpResponse, PageError> {
    let c = Chrome::of(&visitor);
    page(
        &visitor,
        &RegisterPage {
            c,
            title: "Create an account",
            form: RegisterForm::default(),
            errors: Fields::default(),
        },
    )
}

pub async fn register(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    let mut form = form.into_inner();
    visitor.check_form(&req, &form.csrf)?;
    let again = |visitor: &Visitor, mut form: RegisterForm, errors: Fields| {
        form.password.clear();
        let c = Chrome::of(visitor);
        page_with(
            visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            &RegisterPage {
                c,
                title: "Create an account",
                form,
                errors,
            },
        )
    };
    let password = std::mem::take(&mut form.password);
    let parsed = RegistrationForm::parse(
        &form.email,
        &form.username,
        &form.first_name,
        &form.last_name,
        password,
    );
    let (details, password) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => return again(&visitor, form, errors.into()),
    };
    let email = details.email.as_str().to_owned();
    let origin = origin(&state, &req);
    let submission = state
        .register
        .ask(RegisterUser {
            details,
            password,
            idempotency_key: None,
            request_id: origin.request_id,
            traceparent: origin.traceparent,
            reply_to: origin.reply_to,
        })
        .await?;
    let submission = match submission {
        Ok(s) => s,
        Err(AccountError::Invalid(errors)) => return again(&visitor, form, errors.into()),
        Err(AccountError::BreachedPassword { field }) => {
            return again(&visitor, form, Fields::one(field, BREACHED));
        }
        Err(e) => return Err(crate::http::problem::ApiError::from(e).into()),
    };
    let pending = match outcome(&state, &req, submission).await? {
        Outcome::Done => false,
        Outcome::Pending => true,
        Outcome::Refused(code) => {
            let (field, message) = refusal(code);
            return again(&visitor, form, Fields::one(field, message));
        }
        Outcome::InvalidToken => {
            return Err(PageError::Internal("registration took no token".into()));
        }
    };
    let c = Chrome::of(&visitor);
    page_with(
        &visitor,
        StatusCode::CREATED,
        &RegisteredPage {
            c,
            title: "Check your inbox",
            email,
            pending,
        },
    )
}
