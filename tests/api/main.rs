//! Integration tests against the real PostgreSQL and RabbitMQ.

mod auth;
mod bad_input;
mod breached;
mod configuration;
mod contract;
mod credentials;
mod email_change;
mod events;
mod helpers;
mod mail_tls;
mod messaging;
mod metrics;
mod mfa;
mod monitoring;
mod notifications;
mod oauth2;
mod openapi;
mod operations;
mod ops;
mod pages;
mod rate_limit;
mod readme;
mod recovery;
mod register;
mod roles;
mod security;
mod sessions;
mod shutdown;
mod smtp;
#[path = "../support/mod.rs"]
mod support;
mod tokens;
mod trace_context;
mod users;
mod verification;
