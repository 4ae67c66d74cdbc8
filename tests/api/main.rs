//! Integration tests against the real PostgreSQL and RabbitMQ.

mod auth;
mod bad_input;
mod helpers;
mod messaging;
mod mfa;
mod notifications;
mod openapi;
mod operations;
mod ops;
mod register;
mod roles;
mod security;
mod sessions;
