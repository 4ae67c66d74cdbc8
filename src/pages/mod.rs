//! Pages for people: sign-in, sign-up, recovery, verification, the account and the admin
//! console, server-rendered on the public port (off with `UI_ENABLED=false`).
//!
//! A browser adapter beside `http`, built on the same ports: every page handler sends the same
//! messages to the same actors as the REST route for that action (it reuses `http::ApiState`
//! and the command settlement of `http::routes::command_reply`), and none talks to SQL or AMQP
//! (`architecture_tests` keeps it so). Templates are askama's: checked at compile time against
//! the structs that fill them and HTML-escaped by default, with no template files to ship or
//! load at run time and no JavaScript build chain.
//!
//! `session.rs` is the browser session (cookie, CSRF, origin check), `render.rs` the layout,
//! headers and error pages; one file per group of pages after that.

mod account;
mod admin;
mod admin_clients;
mod applications;
mod email;
mod error;
mod forms;
mod recovery;
pub mod render;
pub mod session;
mod sign_in;
mod sign_up;
mod two_factor;

use crate::config::Settings;
use crate::http::routes::{RouteEntry, register, route};
use actix_web::http::Method;
use actix_web::web;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// What every page handler needs besides the ports.
#[derive(Clone)]
pub struct PageConfig {
    pub product_name: String,
    pub stylesheet: Option<String>,
    /// `scheme://host[:port]` of PUBLIC_BASE_URL: the only origin a form may be posted from.
    pub origin: String,
    /// https, or http to a loopback name: where a `Secure` cookie is kept by browsers.
    pub secure_context: bool,
    /// Signs session cookies and derives CSRF tokens; derived from SECRET_KEY, never stored.
    key: Vec<u8>,
    pub session_idle: Duration,
    pub session_max: Duration,
    /// How long a page waits for a command before saying it is still being applied.
    pub command_wait: Duration,
}

impl PageConfig {
    pub fn new(settings: &Settings) -> Self {
        let base = settings.account_mail.public_base_url.as_str();
        let origin = origin_of(base);
        let host = origin.split_once("://").map_or("", |(_, h)| h);
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        let mut mac = Hmac::<Sha256>::new_from_slice(settings.secret_key.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"hexactor pages: session cookies and CSRF tokens, v1");
        Self {
            product_name: settings.ui.product_name.clone(),
            stylesheet: settings.ui.stylesheet.clone(),
            secure_context: base.starts_with("https://") || loopback,
            origin,
            key: mac.finalize().into_bytes().to_vec(),
            session_idle: settings.ui.session_idle,
            session_max: settings.ui.session_max,
            command_wait: settings.http.command_wait,
        }
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }
}

/// `https://id.example.com/base` → `https://id.example.com`.
fn origin_of(base: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

/// Paths that take a form without a session: counted by the per-client rate limit like the
/// API endpoints they stand for (`http::rate_limit::LIMITED` lists them).
pub const ANONYMOUS_FORMS: &[&str] = &[
    "/login",
    "/login/code",
    "/register",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/confirm-email-change",
    "/revert-email-change",
];

/// Every page, one line each.
pub fn page_routes() -> Vec<RouteEntry> {
    use Method as M;
    vec![
        route(M::GET, "/", sign_in::home),
        route(M::GET, "/ui/style.css", render::stylesheet),
        route(M::GET, "/ui/custom.css", render::custom_stylesheet),
        route(M::GET, "/login", sign_in::login_page),
        route(M::POST, "/login", sign_in::login),
        route(M::POST, "/login/code", sign_in::login_code),
        route(M::POST, "/logout", sign_in::logout),
        route(M::GET, "/register", sign_up::register_page),
        route(M::POST, "/register", sign_up::register),
        route(M::GET, "/verify-email", recovery::verify_email_page),
        route(M::POST, "/verify-email", recovery::verify_email),
        route(M::GET, "/forgot-password", recovery::forgot_password_page),
        route(M::POST, "/forgot-password", recovery::forgot_password),
        route(M::GET, "/reset-password", recovery::reset_password_page),
        route(M::POST, "/reset-password", recovery::reset_password),
        route(
            M::GET,
            "/confirm-email-change",
            email::confirm_email_change_page,
        ),
        route(
            M::POST,
            "/confirm-email-change",
            email::confirm_email_change,
        ),
        route(
            M::GET,
            "/revert-email-change",
            email::revert_email_change_page,
        ),
        route(M::POST, "/revert-email-change", email::revert_email_change),
        route(M::GET, "/account", account::account_page),
        route(M::POST, "/account/profile", account::update_profile),
        route(M::POST, "/account/password", account::change_password),
        route(M::POST, "/account/email", email::change_email),
        route(M::POST, "/account/sessions/end", account::end_session),
        route(
            M::POST,
            "/account/sessions/end-all",
            account::end_all_sessions,
        ),
        route(M::POST, "/account/deactivate", account::deactivate),
        route(
            M::GET,
            "/account/applications",
            applications::applications_page,
        ),
        route(
            M::POST,
            "/account/applications/revoke",
            applications::revoke,
        ),
        route(M::POST, "/account/verification", email::resend_verification),
        route(M::POST, "/account/two-factor/start", two_factor::start),
        route(M::POST, "/account/two-factor/confirm", two_factor::confirm),
        route(M::POST, "/account/two-factor/disable", two_factor::disable),
        route(M::GET, "/admin", admin::users_page),
        route(M::GET, "/admin/users/{id}", admin::user_page),
        route(M::GET, "/admin/clients", admin_clients::clients_page),
        route(M::POST, "/admin/users/{id}/role", admin::change_role),
        route(M::POST, "/admin/users/{id}/deactivate", admin::deactivate),
        route(
            M::POST,
            "/admin/users/{id}/verification",
            admin::resend_verification,
        ),
        route(
            M::POST,
            "/admin/users/{id}/sessions/end-all",
            admin::end_sessions,
        ),
    ]
}

/// Registers the pages (the API's state, registered by `http::routes::configure_api`, is
/// shared: the same ports).
pub fn configure(cfg: &mut web::ServiceConfig, config: PageConfig) {
    let form = web::FormConfig::default()
        .limit(crate::http::routes::BODY_LIMIT)
        .error_handler(|err, _| render::PageError::BadForm(err.to_string()).into());
    cfg.app_data(web::Data::new(config)).app_data(form);
    // One resource per path, as the API's: another method is a 405 naming the ones served.
    register(cfg, page_routes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_scheme_and_authority() {
        assert_eq!(
            origin_of("https://id.example.com/base"),
            "https://id.example.com"
        );
        assert_eq!(origin_of("http://localhost:8000"), "http://localhost:8000");
    }

    #[test]
    fn every_anonymous_form_is_a_page_and_rate_limited() {
        let posts: Vec<_> = page_routes()
            .into_iter()
            .filter(|(m, _, _)| m == Method::POST)
            .map(|(_, p, _)| p)
            .collect();
        for path in ANONYMOUS_FORMS {
            assert!(posts.contains(path), "{path} is a form");
            assert!(
                crate::http::rate_limit::is_limited("POST", path),
                "{path} is limited"
            );
        }
    }
}
