//! Integration tests against the real PostgreSQL and RabbitMQ.

mod auth;
mod bad_input;
mod operations;
mod helpers;
mod messaging;
mod notifications;
mod openapi;
mod ops;
mod register;
mod security;
