//! The auth context's store: credentials lookup, sessions and rotating refresh tokens, login
//! throttling. One actor per process, because it also holds the short-lived session cache that
//! makes token revocation cheap to check on every request.

use super::observed;
use crate::application::ports::*;
use crate::domain::{LockoutPolicy, PasswordHash, Principal, Role, UserId};
use actix::prelude::*;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
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

/// 256 random bits, URL-safe. Only its SHA-256 is stored.
fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    (token, hash)
}

async fn insert_refresh(
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

type CredentialsRow = (Uuid, String, String, String, bool, String, bool);

fn credentials(row: CredentialsRow) -> Option<Credentials> {
    let (id, email, username, role, is_active, hash, email_verified) = row;
    Some(Credentials {
        user_id: UserId::from_uuid(id),
        email,
        username,
        role: Role::parse(&role)?,
        is_active,
        password_hash: PasswordHash::new(hash),
        email_verified,
    })
}

impl Handler<FindCredentials> for AuthStore {
    type Result = ResponseFuture<Result<Option<Credentials>, InfraError>>;

    fn handle(&mut self, msg: FindCredentials, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "users", async move {
            let query = match &msg {
                FindCredentials::ByEmail(email) => sqlx::query_as::<_, CredentialsRow>(
                    "SELECT id, email, username, role, is_active, password_hash, email_verified FROM users WHERE email = $1",
                )
                .bind(email.clone()),
                FindCredentials::ById(id) => sqlx::query_as::<_, CredentialsRow>(
                    "SELECT id, email, username, role, is_active, password_hash, email_verified FROM users WHERE id = $1",
                )
                .bind(id.as_uuid()),
            };
            let row = query
                .fetch_optional(&pool)
                .await
                .map_err(infra("reading credentials"))?;
            Ok(row.and_then(credentials))
        }))
    }
}

impl Handler<UpgradePasswordHash> for AuthStore {
    type Result = ResponseFuture<Result<(), InfraError>>;

    fn handle(&mut self, msg: UpgradePasswordHash, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("update", "users", async move {
            // Only if unchanged meanwhile: a password change must never be overwritten.
            sqlx::query("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
                .bind(msg.user_id.as_uuid())
                .bind(msg.old_hash.as_str())
                .bind(msg.new_hash.as_str())
                .execute(&pool)
                .await
                .map_err(infra("upgrading a password hash"))?;
            Ok(())
        }))
    }
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
         WHERE r.token_hash = $1
         FOR UPDATE OF r, s",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((session_id, used_at, expires_at, revoked_at, is_active, user_id, email, role)) = row
    else {
        return Ok(Rotation::Invalid);
    };
    if used_at.is_some() {
        // Reuse of a rotated token: someone holds a stolen copy. Kill the whole family.
        sqlx::query(
            "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reuse'
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
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
                        act.sessions.clear();
                    }
                    Ok(rotation)
                }),
        )
    }
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

impl Handler<CheckLoginThrottle> for AuthStore {
    type Result = ResponseFuture<Result<Option<Duration>, InfraError>>;

    fn handle(&mut self, msg: CheckLoginThrottle, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "login_throttle", async move {
            let seconds: Option<f64> = sqlx::query_scalar(
                "SELECT max(extract(epoch FROM locked_until - now()))::float8 FROM login_throttle
                 WHERE key = ANY($1) AND locked_until > now()",
            )
            .bind(&msg.keys)
            .fetch_one(&pool)
            .await
            .map_err(infra("checking login throttling"))?;
            Ok(seconds.map(|s| Duration::from_secs_f64(s.max(0.0))))
        }))
    }
}

async fn record_failure(
    pool: PgPool,
    key: String,
    policy: LockoutPolicy,
) -> Result<Option<Duration>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A key quiet for a day starts over: old failures should not haunt a user forever.
    let (failures, lockouts): (i32, i32) = sqlx::query_as(
        "INSERT INTO login_throttle (key, failures) VALUES ($1, 1)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN login_throttle.updated_at < now() - interval '1 day' THEN 1
                           ELSE login_throttle.failures + 1 END,
           lockouts = CASE WHEN login_throttle.updated_at < now() - interval '1 day' THEN 0
                           ELSE login_throttle.lockouts END,
           updated_at = now()
         RETURNING failures, lockouts",
    )
    .bind(&key)
    .fetch_one(&mut *tx)
    .await?;
    let lock = if policy.should_lock(failures.max(0) as u32) {
        let duration = policy.lock_duration(lockouts.max(0) as u32);
        sqlx::query(
            "UPDATE login_throttle SET failures = 0, lockouts = lockouts + 1,
                    locked_until = now() + make_interval(secs => $2)
             WHERE key = $1",
        )
        .bind(&key)
        .bind(duration.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        Some(duration)
    } else {
        None
    };
    tx.commit().await?;
    Ok(lock)
}

impl Handler<RecordLoginFailure> for AuthStore {
    type Result = ResponseFuture<Result<Option<Duration>, InfraError>>;

    fn handle(&mut self, msg: RecordLoginFailure, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("upsert", "login_throttle", async move {
            let mut longest = None;
            for (key, policy) in msg.keys {
                let lock = record_failure(pool.clone(), key, policy)
                    .await
                    .map_err(infra("recording a failed login"))?;
                longest = longest.max(lock);
            }
            Ok(longest)
        }))
    }
}

impl Handler<ClearLoginFailures> for AuthStore {
    type Result = ResponseFuture<Result<(), InfraError>>;

    fn handle(&mut self, msg: ClearLoginFailures, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("update", "login_throttle", async move {
            sqlx::query("UPDATE login_throttle SET failures = 0, lockouts = 0 WHERE key = $1")
                .bind(msg.key)
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(infra("clearing login failures"))
        }))
    }
}

::actors::instrument!(
    AuthStore: FindCredentials,
    UpgradePasswordHash,
    StartSession,
    RotateRefreshToken,
    RevokeSessions,
    CheckSession,
    crate::infrastructure::postgres::revocation_listener::EvictSessions,
    CheckLoginThrottle,
    RecordLoginFailure,
    ClearLoginFailures
);
