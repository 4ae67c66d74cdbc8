//! The OpenAPI 3.1 document, generated from the handlers' annotations and the DTOs, served at
//! `/api-docs/openapi.json`, with an interactive page at `/docs`. It describes the public port;
//! the ops listener's `/metrics` and `/debug/*` are for operators, not API clients. It lives among
//! the routes because it is generated from them and served by one of them.

use super::{
    auth, commands, email_change, events, mfa, oauth2_clients, ops, recovery, roles, sessions,
    users,
};
use crate::http::{docs_page, dto};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "hexactor", description = "User management and authentication as a supervised actor system. \
        State changes are commands through RabbitMQ: by default the API waits for the outcome (up to 5 s, \
        `Prefer: wait=N`), otherwise it answers 202 with the command to poll. Errors are RFC 9457 problem documents. \
        The pages for people (`/login`, `/register`, `/account`, `/admin`, the pages mailed links open) are HTML served \
        on the same port through the same use cases; they are not part of this API and are not described here."),
    paths(
        users::register, users::register_with_slash, users::list_users, users::me, users::get_user,
        users::update_user, users::deactivate_user, users::change_password, users::auth_register,
        roles::change_role, sessions::list_sessions, sessions::end_session,
        mfa::enrol, mfa::confirm, mfa::disable, mfa::login_mfa,
        commands::get_command, commands::list_user_commands, events::read_events,
        auth::login, auth::refresh, auth::logout, auth::logout_all, auth::verify, auth::jwks,
        recovery::request_password_reset, recovery::confirm_password_reset,
        recovery::verify_email, recovery::resend_verification, recovery::resend_verification_for,
        email_change::request_email_change, email_change::confirm_email_change,
        email_change::revert_email_change,
        oauth2_clients::create_client, oauth2_clients::list_clients, oauth2_clients::get_client,
        oauth2_clients::update_client, oauth2_clients::delete_client, oauth2_clients::rotate_secret,
        ops::health, ops::ready,
        openapi_json, docs_page::page, docs_page::asset,
    ),
    components(schemas(dto::Problem, dto::FieldProblem, dto::Accepted,
        recovery::PasswordResetRequest, recovery::PasswordResetConfirmation, recovery::EmailVerification,
        email_change::EmailChangeRequest, email_change::EmailChangeToken,
        oauth2_clients::ClientRequest, oauth2_clients::ClientPatch, oauth2_clients::ClientResponse)),
    modifiers(&BearerAuth),
    tags((name = "users"), (name = "auth"), (name = "sessions"), (name = "mfa"), (name = "commands"), (name = "events"), (name = "oauth2"), (name = "ops"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[utoipa::path(get, path = "/api-docs/openapi.json", tag = "ops", responses((status = 200, description = "This document")))]
pub async fn openapi_json() -> HttpResponse {
    let generated = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    HttpResponse::Ok().json(crate::http::openapi_contract::document(generated))
}
