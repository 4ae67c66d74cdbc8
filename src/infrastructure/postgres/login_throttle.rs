//! The auth store's login throttling: failed logins per key (account, client address) lock the
//! key for a growing time once the policy's threshold is reached.

use super::auth_store::{AuthStore, infra};
use super::observed;
use crate::application::ports::{
    CheckLoginThrottle, ClearLoginFailures, InfraError, RecordLoginFailure,
};
use crate::domain::LockoutPolicy;
use actix::prelude::*;
use sqlx::PgPool;
use std::time::Duration;

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
    AuthStore: CheckLoginThrottle,
    RecordLoginFailure,
    ClearLoginFailures
);
