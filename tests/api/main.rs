//! Integration tests against the real PostgreSQL and RabbitMQ.

mod auth;
mod bad_input;
mod helpers;
mod messaging;
mod openapi;
mod ops;
mod register;
mod security;
