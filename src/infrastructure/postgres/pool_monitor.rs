//! Samples the connection pool (open, idle, in use, how long a checkout waits) and the number of
//! active accounts, periodically. A probe rather than per-query bookkeeping: sqlx exposes the
//! pool's counts but no acquire-wait statistics, so one timed checkout per round stands in.

use actix::prelude::*;
use sqlx::PgPool;
use std::time::{Duration, Instant};

pub struct PoolMonitor {
    pool: PgPool,
    every: Duration,
}

impl PoolMonitor {
    pub fn new(pool: PgPool, every: Duration) -> Self {
        Self { pool, every }
    }

    fn sample(&mut self, ctx: &mut Context<Self>) {
        let pool = self.pool.clone();
        let round = async move {
            // Counted before the probe checks a connection out, so the probe is not "in use".
            let (open, idle) = (pool.size(), pool.num_idle() as u32);
            let started = Instant::now();
            let mut conn = pool.acquire().await?;
            let waited = started.elapsed().as_secs_f64();
            crate::metrics::db_pool(open, idle, Some(waited));
            let active: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE is_active")
                .fetch_one(&mut *conn)
                .await?;
            crate::metrics::active_users(active);
            Ok::<_, sqlx::Error>(())
        };
        ctx.spawn(
            async move {
                if let Err(error) = round.await {
                    tracing::debug!(%error, "pool sample failed");
                }
            }
            .into_actor(self),
        );
    }
}

impl Actor for PoolMonitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.sample(ctx);
        ctx.run_interval(self.every, |act, ctx| act.sample(ctx));
    }
}

impl Supervised for PoolMonitor {}
