//! The OpenID Connect provider's endpoints on the public port: discovery, JWKS, the
//! authorization endpoint with its consent page, token, userinfo, revocation, introspection and
//! logout. An adapter beside `http` and `pages`: every handler sends a message to the OAuth use
//! cases (`application::oauth2`) through `http::ApiState`'s ports, and the browser-facing ones
//! use the pages' session (sign-in, CSRF) and layout. It imports no infrastructure
//! (`architecture_tests`). Served with the pages (`UI_ENABLED`): the authorization endpoint
//! needs the sign-in page.

mod authorize;
mod cors;
mod endpoints;

use crate::http::ApiState;
use crate::http::routes::{RouteEntry, register, route};
use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// The paths, relative to the issuer (`OIDC_ISSUER`).
pub const AUTHORIZE: &str = "/oauth2/authorize";
pub const TOKEN: &str = "/oauth2/token";
pub const USERINFO: &str = "/oauth2/userinfo";
pub const JWKS: &str = "/oauth2/jwks";
pub const REVOKE: &str = "/oauth2/revoke";
pub const INTROSPECT: &str = "/oauth2/introspect";
pub const LOGOUT: &str = "/oauth2/logout";

pub fn oauth2_routes() -> Vec<RouteEntry> {
    use Method as M;
    vec![
        route(M::GET, "/.well-known/openid-configuration", discovery),
        route(M::GET, JWKS, jwks),
        route(M::GET, AUTHORIZE, authorize::authorize),
        route(M::POST, AUTHORIZE, authorize::consent),
        route(M::POST, TOKEN, endpoints::token),
        route(M::OPTIONS, TOKEN, cors::preflight),
        route(M::GET, USERINFO, endpoints::userinfo),
        route(M::POST, USERINFO, endpoints::userinfo),
        route(M::OPTIONS, USERINFO, cors::preflight),
        route(M::POST, REVOKE, endpoints::revoke),
        route(M::OPTIONS, REVOKE, cors::preflight),
        route(M::POST, INTROSPECT, endpoints::introspect),
        route(M::GET, LOGOUT, endpoints::logout),
    ]
}

/// Registers the endpoints (the API's state, with the OAuth ports, is registered by
/// `http::routes::configure_api`; the pages' configuration by `pages::configure`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    register(cfg, oauth2_routes());
}

/// OpenID Connect Discovery 1.0 §3: what this provider does, and nothing it does not.
async fn discovery(state: web::Data<ApiState>) -> HttpResponse {
    let iss = &state.oauth2.issuer;
    let at = |path: &str| format!("{iss}{path}");
    let client_auth = ["client_secret_basic", "client_secret_post", "none"];
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(json!({
            "issuer": iss,
            "authorization_endpoint": at(AUTHORIZE),
            "token_endpoint": at(TOKEN),
            "userinfo_endpoint": at(USERINFO),
            "jwks_uri": at(JWKS),
            "revocation_endpoint": at(REVOKE),
            "introspection_endpoint": at(INTROSPECT),
            "end_session_endpoint": at(LOGOUT),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": client_auth,
            "revocation_endpoint_auth_methods_supported": client_auth,
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": crate::application::oauth2::model::OIDC_SCOPES,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid",
                "at_hash", "azp", "preferred_username", "given_name", "family_name", "name",
                "updated_at", "email", "email_verified"],
            "prompt_values_supported": ["none", "login", "consent"],
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        }))
}

/// Every signing key, so that tokens signed by a key being retired still verify.
async fn jwks(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.oauth2.signer.jwks())
}
