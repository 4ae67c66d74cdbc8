//! The OAuth provider's direct writes (see `application::oauth2` for why they are not commands):
//! authorization codes, grants (auth sessions with a client, their refresh tokens rotating like
//! the REST API's) and their revocation (consent is in `oauth2_consents`). Revocations go through the auth
//! store's session cache like every other one, so they hold on this replica at once and on the
//! others through the revocation notices.

use super::auth_store::{AuthStore, infra};
use super::observed;
use super::refresh_tokens::{insert_refresh, revoke_session};
use crate::application::oauth2::ports::{
    ClaimCode, Claimed, CodeGrant, EndBrowserSession, FindGrant, GrantInfo, RevokeGrant,
    StartGrant, StoreCode,
};
use crate::application::ports::{InfraError, RefreshGrant};
use crate::domain::UserId;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

impl Handler<StoreCode> for AuthStore {
    type Result = ResponseFuture<Result<(), InfraError>>;

    fn handle(&mut self, msg: StoreCode, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("insert", "oauth2_codes", async move {
            let g = msg.grant;
            sqlx::query(
                "INSERT INTO oauth2_codes (code_hash, client_id, user_id, browser_session_id,
                        redirect_uri, scope, nonce, code_challenge, auth_time, amr, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11))",
            )
            .bind(msg.code_hash)
            .bind(g.client_id)
            .bind(g.user_id.as_uuid())
            .bind(g.browser_session_id)
            .bind(g.redirect_uri)
            .bind(g.scope)
            .bind(g.nonce)
            .bind(g.code_challenge)
            .bind(g.auth_time)
            .bind(g.amr)
            .bind(msg.ttl.as_secs_f64())
            .execute(&pool)
            .await
            .map_err(infra("storing an authorization code"))?;
            Ok(())
        }))
    }
}

type CodeRow = (
    Uuid,
    Uuid,
    Uuid,
    String,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Vec<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<Uuid>,
);

impl Handler<ClaimCode> for AuthStore {
    type Result = ResponseActFuture<Self, Result<Claimed, InfraError>>;

    /// The row lock makes two concurrent redemptions of one code serialise: the second sees it
    /// used and revokes what the first was given.
    fn handle(&mut self, msg: ClaimCode, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        let claim = async move {
            let mut tx = pool.begin().await?;
            let row: Option<CodeRow> = sqlx::query_as(
                "SELECT client_id, user_id, browser_session_id, redirect_uri, scope, nonce,
                        code_challenge, auth_time, amr, expires_at, used_at, session_id
                 FROM oauth2_codes WHERE code_hash = $1 FOR UPDATE",
            )
            .bind(&msg.code_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((
                client_id,
                user_id,
                browser,
                redirect_uri,
                scope,
                nonce,
                challenge,
                auth_time,
                amr,
                expires_at,
                used_at,
                session,
            )) = row
            else {
                return Ok(Claimed::Invalid);
            };
            if used_at.is_some() {
                revoke_session(&mut tx, session, "authorization_code_reuse").await?;
                tx.commit().await?;
                return Ok(Claimed::Replayed);
            }
            if expires_at <= Utc::now() {
                return Ok(Claimed::Invalid);
            }
            sqlx::query("UPDATE oauth2_codes SET used_at = now() WHERE code_hash = $1")
                .bind(&msg.code_hash)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Claimed::Fresh(CodeGrant {
                client_id,
                user_id: UserId::from_uuid(user_id),
                browser_session_id: browser,
                redirect_uri,
                scope,
                nonce,
                code_challenge: challenge,
                auth_time,
                amr,
            }))
        };
        Box::pin(
            observed::timed("update", "oauth2_codes", claim)
                .into_actor(self)
                .map(|result, act, _| {
                    let claimed = result.map_err(infra("claiming an authorization code"))?;
                    if claimed == Claimed::Replayed {
                        act.forget_all();
                    }
                    Ok(claimed)
                }),
        )
    }
}

impl Handler<StartGrant> for AuthStore {
    type Result = ResponseFuture<Result<(Uuid, Option<RefreshGrant>), InfraError>>;

    fn handle(&mut self, msg: StartGrant, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("insert", "auth_sessions", async move {
            let context = infra("starting an OAuth grant");
            let mut tx = pool.begin().await.map_err(&context)?;
            let session_id = Uuid::now_v7();
            let g = &msg.grant;
            sqlx::query(
                "INSERT INTO auth_sessions (id, user_id, user_agent, ip, client_id, scope, browser_session_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(session_id)
            .bind(g.user_id.as_uuid())
            .bind(msg.client.user_agent)
            .bind(msg.client.ip)
            .bind(g.client_id)
            .bind(&g.scope)
            .bind(g.browser_session_id)
            .execute(&mut *tx)
            .await
            .map_err(&context)?;
            sqlx::query("UPDATE oauth2_codes SET session_id = $2 WHERE code_hash = $1")
                .bind(&msg.code_hash)
                .bind(session_id)
                .execute(&mut *tx)
                .await
                .map_err(&context)?;
            let refresh = match msg.refresh_ttl {
                Some(ttl) => Some(
                    insert_refresh(&mut tx, session_id, ttl)
                        .await
                        .map_err(&context)?,
                ),
                None => None,
            };
            tx.commit().await.map_err(&context)?;
            Ok((session_id, refresh))
        }))
    }
}

impl Handler<FindGrant> for AuthStore {
    type Result = ResponseFuture<Result<Option<GrantInfo>, InfraError>>;

    fn handle(&mut self, msg: FindGrant, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "auth_sessions", async move {
            let row: Option<(Uuid, Uuid, String)> = sqlx::query_as(
                "SELECT s.client_id, s.user_id, s.scope FROM auth_sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id = $1 AND s.client_id IS NOT NULL AND s.revoked_at IS NULL AND u.is_active",
            )
            .bind(msg.session_id)
            .fetch_optional(&pool)
            .await
            .map_err(infra("reading an OAuth grant"))?;
            Ok(row.map(|(client_id, user_id, scope)| GrantInfo {
                client_id,
                user_id: UserId::from_uuid(user_id),
                scope,
            }))
        }))
    }
}

impl Handler<RevokeGrant> for AuthStore {
    type Result = ResponseActFuture<Self, Result<(), InfraError>>;

    fn handle(&mut self, msg: RevokeGrant, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        let revoke =
            async move {
                let query = match &msg {
                RevokeGrant::Session { client_id, session_id } => sqlx::query(
                    "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'oauth2_revoked'
                     WHERE id = $1 AND client_id = $2 AND revoked_at IS NULL",
                )
                .bind(session_id)
                .bind(client_id),
                RevokeGrant::RefreshToken { client_id, token_hash } => sqlx::query(
                    "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'oauth2_revoked'
                     WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
                       AND client_id = $2 AND revoked_at IS NULL",
                )
                .bind(token_hash)
                .bind(client_id),
            };
                query.execute(&pool).await.map(|_| ())
            };
        Box::pin(
            observed::timed("update", "auth_sessions", revoke)
                .into_actor(self)
                .map(|result, act, _| {
                    act.forget_all();
                    result.map_err(infra("revoking an OAuth grant"))
                }),
        )
    }
}

impl Handler<EndBrowserSession> for AuthStore {
    type Result = ResponseActFuture<Self, Result<(), InfraError>>;

    fn handle(&mut self, msg: EndBrowserSession, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        let revoke = sqlx::query(
            "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'logout'
             WHERE (id = $1 OR browser_session_id = $1) AND revoked_at IS NULL",
        )
        .bind(msg.session_id);
        let revoke = async move { revoke.execute(&pool).await.map(|_| ()) };
        Box::pin(
            observed::timed("update", "auth_sessions", revoke)
                .into_actor(self)
                .map(|result, act, _| {
                    act.forget_all();
                    result.map_err(infra("ending a browser session and its grants"))
                }),
        )
    }
}

::actors::instrument!(
    AuthStore: StoreCode,
    ClaimCode,
    StartGrant,
    FindGrant,
    RevokeGrant,
    EndBrowserSession,
    crate::application::oauth2::ports::FindClient,
    crate::application::oauth2::ports::ListClients,
    crate::application::oauth2::ports::PublicClientOrigin
);
