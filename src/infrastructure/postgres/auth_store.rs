//! The auth context's store: credentials lookup, sessions and rotating refresh tokens, login
//! throttling. One actor per process, because it also holds the short-lived session cache that
//! makes token revocation cheap to check on every request.
//!
//! This file is the actor, its session cache and the messages that read or invalidate it
//! (check, revoke, evict). The other ports it answers live by reason to change:
//! `credentials` (login lookup, hash upgrade), `refresh_tokens` (start and rotate sessions),
//! `login_throttle` (failed-login lockout) and `sessions` (list and end a user's sessions).

use super::observed;
use crate::application::ports::{CheckSession, InfraError, RevokeSessions};
use crate::domain::{Principal, Role, UserId};
use actix::prelude::*;
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub struct AuthStore {
    pub(super) pool: PgPool,
    cache_ttl: Duration,
    sessions: HashMap<Uuid, (Instant, Option<Principal>)>,
    /// Bumped by every eviction: a lookup that started before one must not cache its answer,
    /// which may predate the revocation.
    evictions: u64,
}

impl AuthStore {
    pub fn new(pool: PgPool, cache_ttl: Duration) -> Self {
        Self {
            pool,
            cache_ttl,
            sessions: HashMap::new(),
            evictions: 0,
        }
    }

    pub(super) fn forget(&mut self, session: Uuid) {
        self.sessions.remove(&session);
        self.evictions += 1;
    }

    /// Drops every cached session (when we cannot tell which one a revocation hit).
    pub(super) fn forget_all(&mut self) {
        self.sessions.clear();
        self.evictions += 1;
    }
}

impl Actor for AuthStore {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(10), |act, _| {
            let ttl = act.cache_ttl;
            act.sessions.retain(|_, (at, _)| at.elapsed() < ttl);
        });
    }
}

impl Supervised for AuthStore {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.sessions.clear();
    }
}

pub(super) fn infra(context: &'static str) -> impl Fn(sqlx::Error) -> InfraError {
    move |e| InfraError::new(context, e)
}

impl Handler<RevokeSessions> for AuthStore {
    type Result = ResponseActFuture<Self, Result<(), InfraError>>;

    fn handle(&mut self, msg: RevokeSessions, _: &mut Context<Self>) -> Self::Result {
        self.evictions += 1;
        match &msg {
            RevokeSessions::One(id) => {
                self.sessions.remove(id);
            }
            RevokeSessions::AllOf(user) => self
                .sessions
                .retain(|_, (_, p)| p.as_ref().is_none_or(|p| p.user_id != *user)),
        }
        let pool = self.pool.clone();
        Box::pin(
            async move {
                let query = match msg {
                    RevokeSessions::One(id) => sqlx::query(
                        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id),
                    RevokeSessions::AllOf(user) => sqlx::query(
                        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'logout_all'
                         WHERE user_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(user.as_uuid()),
                };
                let revoke = query.execute(&pool);
                observed::timed("update", "auth_sessions", revoke)
                    .await
                    .map(|_| ())
                    .map_err(infra("revoking sessions"))
            }
            .into_actor(self),
        )
    }
}

impl Handler<CheckSession> for AuthStore {
    type Result = ResponseActFuture<Self, Result<Option<Principal>, InfraError>>;

    fn handle(&mut self, msg: CheckSession, _: &mut Context<Self>) -> Self::Result {
        if let Some((at, cached)) = self.sessions.get(&msg.session_id)
            && at.elapsed() < self.cache_ttl
        {
            let valid = cached.clone().filter(|p| p.user_id == msg.user_id);
            return Box::pin(actix::fut::ready(Ok(valid)));
        }
        let pool = self.pool.clone();
        let generation = self.evictions;
        let lookup = observed::timed("select", "auth_sessions", async move {
            // The same round trip records the use for the session list, at most once a minute
            // per session so that reads do not turn into a write each.
            let row: Option<(Uuid, String, String)> = sqlx::query_as(
                "WITH used AS (
                     UPDATE auth_sessions SET last_used_at = now()
                     WHERE id = $1 AND revoked_at IS NULL AND last_used_at < now() - interval '60 seconds'
                 )
                 SELECT u.id, u.email, u.role FROM auth_sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id = $1 AND s.revoked_at IS NULL AND u.is_active",
            )
            .bind(msg.session_id)
            .fetch_optional(&pool)
            .await
            .map_err(infra("checking a session"))?;
            Ok(row.map(|(id, email, role)| Principal {
                user_id: UserId::from_uuid(id),
                email,
                role: Role::parse(&role).unwrap_or(Role::User),
                session_id: msg.session_id,
            }))
        });
        Box::pin(lookup.into_actor(self).map(
            move |result: Result<Option<Principal>, InfraError>, act, _| {
                let principal = result?;
                if !act.cache_ttl.is_zero() && act.evictions == generation {
                    act.sessions
                        .insert(msg.session_id, (Instant::now(), principal.clone()));
                }
                Ok(principal.filter(|p| p.user_id == msg.user_id))
            },
        ))
    }
}

impl Handler<crate::infrastructure::postgres::revocation_listener::EvictSessions> for AuthStore {
    type Result = ();

    fn handle(
        &mut self,
        msg: crate::infrastructure::postgres::revocation_listener::EvictSessions,
        _: &mut Context<Self>,
    ) {
        use crate::infrastructure::postgres::revocation_listener::EvictSessions as E;
        self.evictions += 1;
        match msg {
            E::Session(id) => {
                self.sessions.remove(&id);
            }
            // Cached misses (None) carry no user: dropping them too is harmless.
            E::User(user) => self
                .sessions
                .retain(|_, (_, p)| p.as_ref().is_some_and(|p| p.user_id != user)),
            E::All => self.sessions.clear(),
        }
    }
}

::actors::instrument!(
    AuthStore: RevokeSessions,
    CheckSession,
    crate::infrastructure::postgres::revocation_listener::EvictSessions
);
