//! Adapters: PostgreSQL repository actors, the outbox relay, the password hashing pool,
//! breached-password screening and the RabbitMQ wiring. Implements the ports of `application`; nothing here is called by `domain`.

pub mod breached_passwords;
pub mod crypto;
pub mod health;
pub mod messaging;
pub mod oidc_keys;
pub mod outbound;
pub mod outcome_metrics;
pub mod password_hasher;
pub mod password_hashing;
pub mod postgres;
pub mod tokens;
