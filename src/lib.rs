//! hexactor: a user-management service built as a supervised actor system.
//!
//! Dependencies point inward: `http` and `infrastructure` → `application` → `domain`.

pub mod application;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod infrastructure;
pub mod metrics;
pub mod notifications;
pub mod startup;
pub mod telemetry;
pub mod trace_context;
