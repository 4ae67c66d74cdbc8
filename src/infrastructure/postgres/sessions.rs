//! The auth store answers the session-management ports: list a user's live sessions, end one.

use super::auth_store::{AuthStore, infra};
use crate::application::ports::InfraError;
use crate::application::sessions::{EndSession, ListSessions, SessionInfo};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

type SessionRow = (
    Uuid,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
);

impl Handler<ListSessions> for AuthStore {
    type Result = ResponseFuture<Result<Vec<SessionInfo>, InfraError>>;

    fn handle(&mut self, msg: ListSessions, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            // Live: not revoked, and still renewable (an unspent, unexpired refresh token).
            let rows: Vec<SessionRow> = sqlx::query_as(
                "SELECT s.id, s.created_at, s.last_used_at, s.user_agent, s.ip FROM auth_sessions s
                 WHERE s.user_id = $1 AND s.revoked_at IS NULL
                   AND EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id
                               AND r.used_at IS NULL AND r.expires_at > now())
                 ORDER BY s.last_used_at DESC, s.id",
            )
            .bind(msg.user_id.as_uuid())
            .fetch_all(&pool)
            .await
            .map_err(infra("listing sessions"))?;
            Ok(rows
                .into_iter()
                .map(
                    |(id, created_at, last_used_at, user_agent, ip)| SessionInfo {
                        id,
                        created_at,
                        last_used_at,
                        user_agent,
                        ip,
                    },
                )
                .collect())
        })
    }
}

impl Handler<EndSession> for AuthStore {
    type Result = ResponseFuture<Result<bool, InfraError>>;

    fn handle(&mut self, msg: EndSession, _: &mut Context<Self>) -> Self::Result {
        // This replica forgets it now; the others when the revocation notice arrives.
        self.forget(msg.session_id);
        let pool = self.pool.clone();
        Box::pin(async move {
            let ended = sqlx::query(
                "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'ended_by_user'
                 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(msg.session_id)
            .bind(msg.user_id.as_uuid())
            .execute(&pool)
            .await
            .map_err(infra("ending a session"))?;
            Ok(ended.rows_affected() == 1)
        })
    }
}

::actors::instrument!(AuthStore: ListSessions, EndSession);
