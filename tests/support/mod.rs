//! Test support shared by the API tests (`tests/api`) and the chaos tests (`tests/chaos.rs`): one
//! `eventually`, one set of AMQP helpers, one registration body. Queue names come from the
//! service's own `Names` (`hexactor::infrastructure::messaging::names`), never from literals.
//!
//! Each test crate includes this module with `#[path]` and uses only part of it, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod amqp;
mod eventually;
pub mod smtp;

pub use eventually::eventually;

use serde_json::{Value, json};

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
