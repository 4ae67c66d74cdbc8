//! Integration tests against the real PostgreSQL and RabbitMQ.

mod auth;
mod bad_input;
mod helpers;
mod mail_tls;
mod messaging;
mod metrics;
mod mfa;
mod monitoring;
mod notifications;
mod openapi;
mod operations;
mod ops;
mod recovery;
mod register;
mod roles;
mod security;
mod sessions;
mod shutdown;
mod smtp;
#[path = "../support/mod.rs"]
mod support;
mod trace_context;
mod verification;
