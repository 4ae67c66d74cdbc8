//! The OpenAPI 3.1 document, generated from the handlers' annotations and the DTOs, served at
//! `/api-docs/openapi.json`, with an interactive page at `/docs`.

use super::dto;
use super::routes::{auth, commands, mfa, ops, recovery, roles, sessions, users};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "hexactor", description = "User management and authentication as a supervised actor system. \
        State changes are commands through RabbitMQ: by default the API waits for the outcome (up to 5 s, \
        `Prefer: wait=N`), otherwise it answers 202 with the command to poll. Errors are RFC 9457 problem documents."),
    paths(
        users::register, users::register_with_slash, users::list_users, users::me, users::get_user,
        users::update_user, users::deactivate_user, users::change_password, users::auth_register,
        roles::change_role, sessions::list_sessions, sessions::end_session,
        mfa::enrol, mfa::confirm, mfa::disable, mfa::login_mfa,
        commands::get_command,
        auth::login, auth::refresh, auth::logout, auth::logout_all, auth::verify, auth::jwks,
        recovery::request_password_reset, recovery::confirm_password_reset,
        recovery::verify_email, recovery::resend_verification,
        ops::health, ops::ready, ops::metrics, ops::supervision,
        openapi_json, docs,
    ),
    components(schemas(dto::Problem, dto::FieldProblem, dto::Accepted,
        recovery::PasswordResetRequest, recovery::PasswordResetConfirmation, recovery::EmailVerification)),
    modifiers(&BearerAuth),
    tags((name = "users"), (name = "auth"), (name = "sessions"), (name = "mfa"), (name = "commands"), (name = "ops"))
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
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The page loads Scalar's viewer from its CDN (nothing is bundled into the binary), so its CSP
/// allows that one script origin; every other response keeps `default-src 'none'`.
#[utoipa::path(get, path = "/docs", tag = "ops", responses((status = 200, description = "Interactive API documentation")))]
pub async fn docs() -> HttpResponse {
    const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>hexactor API</title></head>
<body><script id="api-reference" data-url="/api-docs/openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script></body></html>"#;
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "content-security-policy",
            "default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; style-src https://cdn.jsdelivr.net 'unsafe-inline'; \
             font-src https://cdn.jsdelivr.net data:; img-src data: https:; connect-src 'self'; frame-ancestors 'none'",
        ))
        .body(PAGE)
}
