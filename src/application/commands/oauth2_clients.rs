//! OAuth client commands. A client secret never travels in them: the API generates it, shows it
//! once and sends only its SHA-256 (of 256 random bits: not reversible, unlike a password hash
//! would be worth attacking).

use crate::application::oauth2_client::ClientSpec;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterClientCommand {
    pub command_id: Uuid,
    /// Chosen by the API, so that every delivery creates the same client.
    pub client_id: Uuid,
    pub spec: ClientSpec,
    pub secret_hash: Option<Vec<u8>>,
}

/// The whole registration as it is to be (the API merged the changes into the current one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateClientCommand {
    pub command_id: Uuid,
    pub client_id: Uuid,
    pub spec: ClientSpec,
    /// A confidential client that becomes public loses its secret; a public one that becomes
    /// confidential gets this one.
    pub secret_hash: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteClientCommand {
    pub command_id: Uuid,
    pub client_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RotateClientSecretCommand {
    pub command_id: Uuid,
    pub client_id: Uuid,
    pub secret_hash: Vec<u8>,
}
