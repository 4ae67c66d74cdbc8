//! The request-rate state every API replica shares (`rate_limits`): with N replicas behind a
//! balancer a client still gets the configured rate, not N times it. One statement per limited
//! request; the row lock of the upsert serialises one client's requests across replicas.

use crate::application::ports::{InfraError, TakeRequest};
use actix::prelude::*;
use sqlx::PgPool;
use std::time::Duration;

/// How often the rows of clients idle for an hour are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// GCRA in one statement: `$2` is the emission interval in seconds, `$3` the burst. A new client
/// starts with a full burst; the upsert's row lock serialises one client's requests (a
/// concurrent first request takes the update path). `tat` moves only when the request is
/// allowed, so a refused request costs nothing more; the statement returns whether it was
/// allowed and how far `tat` is ahead of now.
const TAKE: &str = "INSERT INTO rate_limits AS r (key, tat, allowed)
     VALUES ($1, now() + make_interval(secs => $2), true)
     ON CONFLICT (key) DO UPDATE SET
         allowed = GREATEST(r.tat, now()) + make_interval(secs => $2) - now()
                   <= make_interval(secs => $2 * $3),
         tat = CASE WHEN GREATEST(r.tat, now()) + make_interval(secs => $2) - now()
                         <= make_interval(secs => $2 * $3)
                    THEN GREATEST(r.tat, now()) + make_interval(secs => $2) ELSE r.tat END
     RETURNING allowed, EXTRACT(EPOCH FROM tat - now())::float8";

pub struct RateLimitStore {
    pool: PgPool,
}

impl RateLimitStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    fn sweep(&mut self, ctx: &mut Context<Self>) {
        let pool = self.pool.clone();
        ctx.spawn(
            async move {
                let swept =
                    sqlx::query("DELETE FROM rate_limits WHERE tat < now() - interval '1 hour'")
                        .execute(&pool)
                        .await;
                if let Err(error) = swept {
                    tracing::warn!(%error, "sweeping idle rate-limit rows failed");
                }
            }
            .into_actor(self),
        );
    }
}

impl Actor for RateLimitStore {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(SWEEP_EVERY, |act, ctx| act.sweep(ctx));
    }
}

impl Supervised for RateLimitStore {}

impl Handler<TakeRequest> for RateLimitStore {
    type Result = ResponseFuture<Result<Result<(), Duration>, InfraError>>;

    fn handle(&mut self, msg: TakeRequest, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let interval = msg.interval.as_secs_f64();
            let (allowed, ahead): (bool, f64) = super::observed::timed(
                "upsert",
                "rate_limits",
                sqlx::query_as(TAKE)
                    .bind(&msg.client)
                    .bind(interval)
                    .bind(f64::from(msg.burst))
                    .fetch_one(&pool),
            )
            .await
            .map_err(|e| InfraError::new("taking a request from the shared rate", e))?;
            if allowed {
                return Ok(Ok(()));
            }
            // Refused: the client is `ahead` seconds ahead; it may go once that is back within
            // the burst (counting the next request).
            let wait = ahead + interval - interval * f64::from(msg.burst);
            Ok(Err(Duration::from_secs_f64(wait.max(0.001))))
        })
    }
}

::actors::instrument!(RateLimitStore: TakeRequest);
