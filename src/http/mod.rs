//! The HTTP adapter: routes, DTOs, problem+json errors and the request middleware.
//! Handlers parse input into domain types, send one message to an actor, and map the reply.

pub mod auth;
pub mod dto;
pub mod middleware;
pub mod prefer;
pub mod problem;
pub mod routes;

pub use routes::{ApiState, OpsState};
