//! Adapters: PostgreSQL repository actors, the outbox relay, the bcrypt hashing pool and the
//! RabbitMQ wiring. Implements the ports of `application`; nothing here is called by `domain`.

pub mod crypto;
pub mod health;
pub mod messaging;
pub mod oidc_keys;
pub mod outcome_metrics;
pub mod password_hasher;
pub mod postgres;
pub mod tokens;
