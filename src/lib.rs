//! hexactor: a user-management service built as a supervised actor system.
//!
//! Dependencies point inward: `http` and `infrastructure` → `application` → `domain`.
//!
//! - `domain`: pure types and rules; imports nothing of the crate.
//! - `application`: use cases as actors, and the ports (message protocols) they talk through;
//!   imports `domain` only.
//! - `infrastructure` (PostgreSQL, RabbitMQ, password hashing, JWT) and `http` (the actix-web adapter)
//!   implement or call those ports; neither imports the other.
//! - `pages`: the pages for people, a browser adapter beside `http` on the same ports (it uses
//!   `http`'s port bundle and command settlement; it imports no infrastructure).
//! - `oauth2`: the OpenID Connect provider's endpoints, an adapter beside `pages` (whose session
//!   and layout it uses) on the OAuth use cases of `application::oauth2`; no infrastructure.
//! - `notifications`: a bounded context of its own, fed by the public event contract; it uses
//!   the users context's topology names and one-time-token derivation, nothing else.
//! - `config` + `variables`: settings from the environment (validated with the adapters' own
//!   parsers where they have one: trusted proxies, the data key); `telemetry`, `metrics` and
//!   `trace_context`: logs, Prometheus metrics, trace propagation.
//! - `startup`: the composition root, the one module that knows every layer: it starts the
//!   supervision tree and the HTTP listeners and connects adapters to ports. `cli` holds the
//!   administrative subcommands.

pub mod application;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod infrastructure;
pub mod metrics;
pub mod notifications;
pub mod oauth2;
pub mod pages;
pub mod startup;
pub mod telemetry;
pub mod trace_context;
pub mod variables;

#[cfg(test)]
mod architecture_tests;
