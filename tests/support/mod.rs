//! Test support shared by the API tests (`tests/api`) and the chaos tests (`tests/chaos.rs`): one
//! `eventually`, one set of AMQP and PostgreSQL helpers, one naming of a test's namespace, one
//! registration body. Queue names come from the service's own `Names`
//! (`hexactor::infrastructure::messaging::names`), never from literals.
//!
//! Each test crate includes this module with `#[path]` and uses only part of it, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod amqp;
mod eventually;
pub mod logs;
pub mod postgres;
pub mod smtp;

pub use eventually::eventually;

use serde_json::{Value, json};

/// The names of a fresh namespace: (database, AMQP prefix). `scripts/clean-test-resources.sh`
/// finds what a killed test left behind by these prefixes (`hexactor_test_`, `test_`).
pub fn fresh_namespace() -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (
        format!("hexactor_test_{}", &id[..16]),
        format!("test_{}", &id[..16]),
    )
}

/// A valid registration body for `<email_local>@example.com` with the given username.
pub fn registration(email_local: &str, username: &str) -> Value {
    json!({
        "email": format!("{email_local}@example.com"),
        "username": username,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "password": "correct horse battery staple",
    })
}
