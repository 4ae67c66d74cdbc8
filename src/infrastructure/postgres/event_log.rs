//! The event log behind `GET /api/v1/events`: each public event is written next to its outbox
//! row (same statement, same transaction), stamped with its feed position after commit, read by
//! position, and pruned after `EVENT_RETENTION_DAYS`. Why positions are stamped rather than
//! taken at insert: see the migration `event_log.sql`.

use super::observed;
use crate::application::event_feed::{EventEnvelope, FeedEntry, ReadEvents};
use crate::application::ports::InfraError;
use crate::domain::DomainEvent;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// The outbox row ($1–$5, $1 being the event id) and the feed's row in one statement; the
/// subject's next sequence number is read in the same statement.
pub(crate) const WITH_OUTBOX: &str = "WITH outbox_row AS (
         INSERT INTO outbox (message_id, exchange, routing_key, payload, headers)
         VALUES ($1, $2, $3, $4, $5)
     )
     INSERT INTO event_log (id, type, subject, sequence, occurred_at, data)
     SELECT $1, $6, $7, COALESCE(max(sequence), 0) + 1, $8, $9 FROM event_log WHERE subject = $7";

/// What the feed keeps of an event.
pub(crate) struct PublicEntry {
    pub public_type: &'static str,
    pub subject: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

/// The feed's entry for `event`, if its declaration gives it a public type. `data` is the
/// event's own fields: the envelope carries its id, type and time.
pub(crate) fn public_entry(event: &DomainEvent) -> Result<Option<PublicEntry>, sqlx::Error> {
    let Some(public_type) = event.declaration().public_type else {
        return Ok(None);
    };
    let mut data = serde_json::to_value(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    if let Some(fields) = data.as_object_mut() {
        for envelope_field in ["type", "event_id", "occurred_at"] {
            fields.remove(envelope_field);
        }
    }
    Ok(Some(PublicEntry {
        public_type,
        subject: event.subject(),
        occurred_at: event.occurred_at(),
        data,
    }))
}

/// Serialises the stampers of every process (an arbitrary constant, "hxev").
const STAMP_LOCK: i64 = 0x6878_6576;
/// Rows stamped per round: a long-unread backlog is stamped in slices, not in one statement.
const STAMP_BATCH: i64 = 10_000;
/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Gives the rows committed so far their positions, after the highest one, in the order they
/// were recorded. One stamper at a time, and the lock is taken in a statement of its own so
/// that the UPDATE's snapshot comes after the previous stamper's commit: positions become
/// visible in increasing order, so a reader's cursor never passes one that is still to come.
async fn stamp(pool: &PgPool) -> Result<(), sqlx::Error> {
    let pending: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM event_log WHERE position IS NULL)")
            .fetch_one(pool)
            .await?;
    if !pending {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(STAMP_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "WITH last AS (SELECT COALESCE(max(position), 0) AS position FROM event_log),
              pending AS (
                  SELECT id, row_number() OVER (ORDER BY recorded_at, id) AS n
                  FROM (SELECT id, recorded_at FROM event_log WHERE position IS NULL
                        ORDER BY recorded_at, id LIMIT $1) unstamped
              )
         UPDATE event_log e SET position = last.position + pending.n
         FROM last, pending WHERE e.id = pending.id",
    )
    .bind(STAMP_BATCH)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

type Row = (
    i64,
    Uuid,
    String,
    Uuid,
    i64,
    DateTime<Utc>,
    serde_json::Value,
);

async fn read(pool: &PgPool, msg: ReadEvents) -> Result<Vec<FeedEntry>, sqlx::Error> {
    stamp(pool).await?;
    let types: Vec<String> = msg.types.iter().map(|t| (*t).to_owned()).collect();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT position, id, type, subject, sequence, occurred_at, data FROM event_log
         WHERE position > $1 AND (cardinality($2::text[]) = 0 OR type = ANY($2))
         ORDER BY position LIMIT $3",
    )
    .bind(msg.after)
    .bind(types)
    .bind(i64::from(msg.limit))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(position, id, event_type, subject, sequence, timestamp, data)| FeedEntry {
                position,
                envelope: EventEnvelope {
                    id,
                    event_type,
                    timestamp,
                    subject,
                    sequence,
                    data,
                },
            },
        )
        .collect())
}

pub struct EventLog {
    pool: PgPool,
    retention_days: u32,
}

impl EventLog {
    pub fn new(pool: PgPool, retention_days: u32) -> Self {
        Self {
            pool,
            retention_days,
        }
    }

    fn prune(&mut self, ctx: &mut Context<Self>) {
        let (pool, days) = (self.pool.clone(), self.retention_days as i32);
        ctx.spawn(
            async move {
                let pruned = sqlx::query(
                    "DELETE FROM event_log WHERE recorded_at < now() - make_interval(days => $1)",
                )
                .bind(days)
                .execute(&pool)
                .await;
                match pruned {
                    Ok(done) if done.rows_affected() > 0 => {
                        tracing::info!(events = done.rows_affected(), days, "event log pruned")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "pruning the event log failed"),
                }
            }
            .into_actor(self),
        );
    }
}

impl Actor for EventLog {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.prune(ctx);
        ctx.run_interval(PRUNE_EVERY, |act, ctx| act.prune(ctx));
    }
}

impl Supervised for EventLog {}

impl Handler<ReadEvents> for EventLog {
    type Result = ResponseFuture<Result<Vec<FeedEntry>, InfraError>>;

    fn handle(&mut self, msg: ReadEvents, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::query("read_events", "event_log", async move {
            read(&pool, msg)
                .await
                .map_err(|e| InfraError::new("reading the event log", e))
        }))
    }
}

::actors::instrument!(EventLog: ReadEvents);
