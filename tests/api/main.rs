//! Integration tests against the real PostgreSQL and RabbitMQ.

mod auth;
mod bad_input;
mod helpers;
mod messaging;
mod notifications;
mod openapi;
mod operations;
mod ops;
mod register;
mod security;
mod shutdown;
#[path = "../support/mod.rs"]
mod support;
