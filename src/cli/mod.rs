//! Operator commands of the `hexactor` binary that are more than a line in `main`.

pub mod dlq;
pub mod oauth2_client;
pub mod traffic;
