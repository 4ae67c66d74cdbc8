//! `/account/applications`: the applications a person allowed ("Connected applications") and
//! taking one back — it must ask again, and every grant it holds for the person ends at once.

use super::account::{signed_in, signed_in_form};
use super::render::{Chrome, PageError, page, redirect};
use super::session::Visitor;
use crate::application::oauth2::ports::{ListConsents, RevokeConsent};
use crate::http::ApiState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

const HERE: &str = "/account/applications";

struct Row {
    client_id: String,
    name: String,
    scopes: String,
    since: String,
}

#[derive(Template)]
#[template(path = "pages/applications.html")]
struct ApplicationsPage {
    c: Chrome,
    title: &'static str,
    notice: Option<&'static str>,
    applications: Vec<Row>,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn applications_page(
    state: web::Data<ApiState>,
    visitor: Visitor,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let principal = match signed_in(&visitor, HERE) {
        Ok(p) => p,
        Err(to_login) => return Ok(*to_login),
    };
    let user_id = principal.user_id;
    let consents = state
        .oauth2
        .consents
        .ask(ListConsents { user_id })
        .await??;
    let applications = consents
        .into_iter()
        .map(|c| Row {
            client_id: c.client_id.to_string(),
            name: c.client_name,
            scopes: c.scopes.join(", "),
            since: c.granted_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    let notice = (query.done.as_deref() == Some("revoked"))
        .then_some("The application is disconnected: it must ask you again.");
    let c = Chrome::of(&visitor);
    page(
        &visitor,
        &ApplicationsPage {
            c,
            title: "Connected applications",
            notice,
            applications,
        },
    )
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    client_id: uuid::Uuid,
}

pub async fn revoke(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let revoke = RevokeConsent {
        user_id: principal.user_id,
        client_id: form.client_id,
    };
    state.oauth2.revoke_consent.ask(revoke).await??;
    Ok(redirect(&visitor, &format!("{HERE}?done=revoked")))
}
