//! The auth store's session ports: start a session with its first refresh token, and rotate a
//! refresh token (a reused one revokes its whole session family).

use super::auth_store::{AuthStore, infra};
use super::observed;
use crate::application::ports::{
    InfraError, RefreshGrant, RotateRefreshToken, Rotation, StartSession,
};
use crate::domain::{Principal, Role, UserId};
use actix::prelude::*;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// 256 random bits, URL-safe. Only its SHA-256 is stored.
fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    (token, hash)
}

pub(super) async fn insert_refresh(
    tx: &mut sqlx::PgConnection,
    session_id: Uuid,
    ttl: Duration,
) -> Result<RefreshGrant, sqlx::Error> {
    let (token, hash) = new_refresh_token();
    let expires: DateTime<Utc> =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(14));
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash)
    .bind(session_id)
    .bind(expires)
    .execute(&mut *tx)
    .await?;
    Ok(RefreshGrant {
        session_id,
        refresh_token: token,
        refresh_expires_at: expires,
    })
}

impl Handler<StartSession> for AuthStore {
    type Result = ResponseFuture<Result<RefreshGrant, InfraError>>;

    fn handle(&mut self, msg: StartSession, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("insert", "auth_sessions", async move {
            let mut tx = pool.begin().await.map_err(infra("starting a session"))?;
            let session_id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO auth_sessions (id, user_id, user_agent, ip) VALUES ($1, $2, $3, $4)",
            )
            .bind(session_id)
            .bind(msg.user_id.as_uuid())
            .bind(msg.client.user_agent)
            .bind(msg.client.ip)
            .execute(&mut *tx)
            .await
            .map_err(infra("starting a session"))?;
            let grant = insert_refresh(&mut tx, session_id, msg.refresh_ttl)
                .await
                .map_err(infra("starting a session"))?;
            tx.commit().await.map_err(infra("starting a session"))?;
            Ok(grant)
        }))
    }
}

/// Revokes a session (a REST API session or an OAuth grant), saying why.
pub(super) async fn revoke_session(
    tx: &mut sqlx::PgConnection,
    session_id: Option<Uuid>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

type RotationRow = (
    Uuid,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    bool,
    Uuid,
    String,
    String,
);

async fn rotate(pool: PgPool, msg: RotateRefreshToken) -> Result<Rotation, sqlx::Error> {
    let hash = Sha256::digest(msg.token.as_bytes()).to_vec();
    let mut tx = pool.begin().await?;
    let row: Option<RotationRow> = sqlx::query_as(
        "SELECT r.session_id, r.used_at, r.expires_at, s.revoked_at, u.is_active, u.id, u.email, u.role
         FROM refresh_tokens r
         JOIN auth_sessions s ON s.id = r.session_id
         JOIN users u ON u.id = s.user_id
         WHERE r.token_hash = $1 AND s.client_id IS NOT DISTINCT FROM $2
         FOR UPDATE OF r, s",
    )
    .bind(&hash)
    .bind(msg.oauth_client)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((session_id, used_at, expires_at, revoked_at, is_active, user_id, email, role)) = row
    else {
        return Ok(Rotation::Invalid);
    };
    if used_at.is_some() {
        // Reuse of a rotated token: someone holds a stolen copy. Kill the whole family.
        revoke_session(&mut tx, Some(session_id), "refresh_token_reuse").await?;
        tx.commit().await?;
        return Ok(Rotation::ReuseDetected);
    }
    if revoked_at.is_some() || !is_active || expires_at <= Utc::now() {
        return Ok(Rotation::Invalid);
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE auth_sessions SET last_used_at = now(), user_agent = coalesce($2, user_agent),
                ip = coalesce($3, ip) WHERE id = $1",
    )
    .bind(session_id)
    .bind(msg.client.user_agent)
    .bind(msg.client.ip)
    .execute(&mut *tx)
    .await?;
    let grant = insert_refresh(&mut tx, session_id, msg.refresh_ttl).await?;
    tx.commit().await?;
    let principal = Principal {
        user_id: UserId::from_uuid(user_id),
        email,
        role: Role::parse(&role).unwrap_or(Role::User),
        session_id,
    };
    Ok(Rotation::Rotated { principal, grant })
}

impl Handler<RotateRefreshToken> for AuthStore {
    type Result = ResponseActFuture<Self, Result<Rotation, InfraError>>;

    fn handle(&mut self, msg: RotateRefreshToken, _: &mut Context<Self>) -> Self::Result {
        Box::pin(
            observed::timed("update", "refresh_tokens", rotate(self.pool.clone(), msg))
                .into_actor(self)
                .map(|result, act, _| {
                    let rotation = result.map_err(infra("rotating a refresh token"))?;
                    if let Rotation::ReuseDetected = rotation {
                        // We do not know which cached session it was; the cache is short-lived anyway,
                        // but a detected theft should bite at once on this replica.
                        act.forget_all();
                    }
                    Ok(rotation)
                }),
        )
    }
}

::actors::instrument!(AuthStore: StartSession, RotateRefreshToken);
