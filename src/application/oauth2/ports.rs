//! The messages the OAuth stores answer (PostgreSQL in `infrastructure::postgres::oauth2_*`).
//! Codes and refresh tokens cross them only as SHA-256 hashes, except a new refresh token on its
//! way out to the client.

use super::model::Client;
use crate::application::client_info::ClientInfo;
use crate::application::ports::{InfraError, RefreshGrant};
use crate::domain::UserId;
use actix::Message;
use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;

#[derive(Message)]
#[rtype(result = "Result<Option<Client>, InfraError>")]
pub struct FindClient {
    pub id: Uuid,
}

#[derive(Message)]
#[rtype(result = "Result<Vec<Client>, InfraError>")]
pub struct ListClients;

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    pub client_id: Uuid,
    pub user_id: UserId,
    /// The sign-in session the code was issued in (the ID token's `sid`).
    pub browser_session_id: Uuid,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    /// S256 challenge; `None` when a confidential client sent none.
    pub code_challenge: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub amr: Vec<String>,
}

#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub struct StoreCode {
    pub code_hash: Vec<u8>,
    pub grant: CodeGrant,
    pub ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// Spent now, by this request.
    Fresh(CodeGrant),
    /// Unknown or expired.
    Invalid,
    /// Spent before: whatever was issued from it has just been revoked.
    Replayed,
}

/// Spends a code (single use) and returns what it stood for.
#[derive(Message)]
#[rtype(result = "Result<Claimed, InfraError>")]
pub struct ClaimCode {
    pub code_hash: Vec<u8>,
}

/// Opens an OAuth grant (an auth session with a client) for a code just claimed; with a refresh
/// token when `refresh_ttl` is given.
#[derive(Message)]
#[rtype(result = "Result<(Uuid, Option<RefreshGrant>), InfraError>")]
pub struct StartGrant {
    pub code_hash: Vec<u8>,
    pub grant: CodeGrant,
    pub refresh_ttl: Option<Duration>,
    pub client: ClientInfo,
}

/// A live grant as the refresh and resource endpoints see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantInfo {
    pub client_id: Uuid,
    pub user_id: UserId,
    pub scope: String,
}

/// The live grant `session_id` (not revoked, account active).
#[derive(Message)]
#[rtype(result = "Result<Option<GrantInfo>, InfraError>")]
pub struct FindGrant {
    pub session_id: Uuid,
}

/// Revokes a grant of `client_id`, named by its session or by one of its refresh tokens' hash;
/// anything else (another client's, unknown) is left alone.
#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub enum RevokeGrant {
    Session {
        client_id: Uuid,
        session_id: Uuid,
    },
    RefreshToken {
        client_id: Uuid,
        token_hash: Vec<u8>,
    },
}

/// Logout: the sign-in session and every grant issued from it end.
#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub struct EndBrowserSession {
    pub session_id: Uuid,
}

/// The scopes the person already allowed the client.
#[derive(Message)]
#[rtype(result = "Result<Vec<String>, InfraError>")]
pub struct FindConsent {
    pub user_id: UserId,
    pub client_id: Uuid,
}

/// Remembers that the person allowed these scopes (added to what they allowed before).
#[derive(Message)]
#[rtype(result = "Result<(), InfraError>")]
pub struct SaveConsent {
    pub user_id: UserId,
    pub client_id: Uuid,
    pub scopes: Vec<String>,
}

/// A client the person allowed ("Connected applications" on the account page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentInfo {
    pub client_id: Uuid,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub granted_at: DateTime<Utc>,
}

#[derive(Message)]
#[rtype(result = "Result<Vec<ConsentInfo>, InfraError>")]
pub struct ListConsents {
    pub user_id: UserId,
}

/// Takes a consent back: the client must ask again, and every grant it holds for the person
/// ends. `false`: there was none.
#[derive(Message)]
#[rtype(result = "Result<bool, InfraError>")]
pub struct RevokeConsent {
    pub user_id: UserId,
    pub client_id: Uuid,
}

/// Is `origin` (`scheme://host[:port]`) the origin of a public client's redirect URI? Only such
/// browser apps may call the token and userinfo endpoints cross-origin (CORS).
#[derive(Message)]
#[rtype(result = "Result<bool, InfraError>")]
pub struct PublicClientOrigin {
    pub origin: String,
}
