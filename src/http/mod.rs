//! The HTTP adapter: routes, DTOs, problem+json errors and the request middleware.
//! Handlers parse input into domain types, send one message to an actor, and map the reply.

pub mod auth;
pub mod client_address;
pub mod docs_page;
pub mod dto;
pub mod middleware;
pub mod openapi_contract;
pub mod prefer;
pub mod problem;
pub mod rate_limit;
pub mod routes;

pub use routes::{ApiState, OpsState};

/// Cross-origin access for the listed origins only.
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    origins
        .iter()
        .fold(actix_cors::Cors::default(), |cors, origin| {
            cors.allowed_origin(origin)
        })
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "idempotency-key",
            "if-match",
            "prefer",
            "x-request-id",
        ])
        .expose_headers(["etag", "location", "retry-after", "x-request-id"])
        .max_age(600)
}
