//! The outbox relay: publishes outbox rows to RabbitMQ with publisher confirms, then marks them
//! sent. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so any number of relays (API and worker
//! replicas) share the table without publishing a row twice concurrently. A crash between the
//! broker's confirm and the commit publishes a row again: consumers are idempotent.

use super::observed::timed;
use crate::infrastructure::messaging::headers as message_headers;
use ::actors::ActorRef;
use ::actors::rabbit::{Publish, PublishError, Publisher};
use actix::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

const BATCH: i64 = 100;
const POLL: Duration = Duration::from_millis(250);

/// Per-row publishing metadata, stored as JSON next to the payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxHeaders {
    pub message_type: String,
    /// The command's or event's declared schema version (rows written before it existed: 1).
    #[serde(default = "first_version")]
    pub schema_version: u32,
    pub request_id: Option<String>,
    /// W3C `traceparent` of the request behind the message (rows written before it existed: none).
    #[serde(default)]
    pub traceparent: Option<String>,
    pub reply_to: Option<String>,
    /// Commands must reach a queue; events may have no subscriber yet.
    pub mandatory: bool,
}

fn first_version() -> u32 {
    1
}

/// "There may be new rows": publish now instead of at the next poll.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick;

pub struct OutboxRelay {
    pool: PgPool,
    publisher: ActorRef<Publisher>,
    running: bool,
    again: bool,
}

impl OutboxRelay {
    pub fn new(pool: PgPool, publisher: ActorRef<Publisher>) -> Self {
        Self {
            pool,
            publisher,
            running: false,
            again: false,
        }
    }

    fn relay(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            self.again = true;
            return;
        }
        self.running = true;
        self.again = false;
        let batch = relay_batch(self.pool.clone(), self.publisher.clone());
        ctx.spawn(batch.into_actor(self).map(|result, act, ctx| {
            act.running = false;
            match result {
                // A full batch or a kick while busy: there is probably more.
                Ok(n) if n as i64 == BATCH || act.again => act.relay(ctx),
                Ok(_) => {}
                // Broker or database down: the next poll tries again; nothing is lost.
                Err(error) => tracing::debug!(
                    error = %::actors::ErrorChain(&error),
                    "outbox relay pass failed"
                ),
            }
        }));
    }
}

/// Why a relay pass stopped short. Every case is retried by the next pass: a row stays
/// unpublished until the broker confirmed it and its mark committed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("reading or marking the outbox")]
    Database(#[from] sqlx::Error),
    #[error("publishing outbox row {row}")]
    Publish {
        row: i64,
        #[source]
        source: PublishError,
    },
    #[error("publishing outbox row {row}: the publisher is unavailable")]
    PublisherGone {
        row: i64,
        #[source]
        source: actix::MailboxError,
    },
}

type OutboxRow = (
    i64,
    Uuid,
    String,
    String,
    Vec<u8>,
    sqlx::types::Json<OutboxHeaders>,
);

async fn relay_batch(pool: PgPool, publisher: ActorRef<Publisher>) -> Result<usize, RelayError> {
    let mut tx = pool.begin().await?;
    let select = sqlx::query_as(
        "SELECT id, message_id, exchange, routing_key, payload, headers FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx);
    let rows: Vec<OutboxRow> = timed("select", "outbox", select).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    // Publish the whole batch at once: the publisher's confirm window bounds what is in flight.
    let publishes = rows.into_iter().map(
        |(id, message_id, exchange, routing_key, payload, headers)| {
            let publisher = publisher.clone();
            async move {
                let headers = headers.0;
                let mut publish = Publish::persistent(exchange, routing_key, payload);
                publish.mandatory = headers.mandatory;
                let mut props = publish
                    .properties
                    .clone()
                    .with_message_id(message_id.to_string().into());
                props = props.with_type(headers.message_type.as_str().into());
                if let Some(reply_to) = &headers.reply_to {
                    props = props.with_reply_to(reply_to.as_str().into());
                }
                let mut extra = vec![(
                    message_headers::SCHEMA_VERSION,
                    ::actors::rabbit::headers::int(i64::from(headers.schema_version)),
                )];
                if let Some(request_id) = &headers.request_id {
                    extra.push((
                        message_headers::REQUEST_ID,
                        ::actors::rabbit::headers::text(request_id),
                    ));
                }
                if let Some(traceparent) = &headers.traceparent {
                    extra.push((
                        message_headers::TRACEPARENT,
                        ::actors::rabbit::headers::text(traceparent),
                    ));
                }
                publish.properties = ::actors::rabbit::headers::with_headers(props, &extra);
                match publisher.ask(publish).await {
                    Ok(Ok(())) => Ok(id),
                    Ok(Err(source)) => Err(RelayError::Publish { row: id, source }),
                    Err(source) => Err(RelayError::PublisherGone { row: id, source }),
                }
            }
        },
    );
    let results = futures_util::future::join_all(publishes).await;
    let published: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let first_error = results.into_iter().find_map(Result::err);
    if !published.is_empty() {
        let mark = sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
            .bind(&published)
            .execute(&mut *tx);
        timed("update", "outbox", mark).await?;
    }
    tx.commit().await?;
    crate::metrics::outbox_published(published.len() as u64);
    match first_error {
        Some(error) => Err(error),
        None => Ok(published.len()),
    }
}

async fn measure_backlog(pool: PgPool) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at))::bigint, 0)
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(&pool)
    .await
}

impl Actor for OutboxRelay {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Polling catches rows written by other replicas and rows left by a crash.
        ctx.run_interval(POLL, |act, ctx| act.relay(ctx));
        ctx.run_interval(Duration::from_secs(5), |act, ctx| {
            ctx.spawn(
                measure_backlog(act.pool.clone())
                    .into_actor(act)
                    .map(|result, _, _| {
                        if let Ok((rows, age)) = result {
                            crate::metrics::outbox_backlog(rows, age);
                        }
                    }),
            );
        });
        self.relay(ctx);
    }
}

impl Supervised for OutboxRelay {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = false;
    }
}

impl Handler<Kick> for OutboxRelay {
    type Result = ();

    fn handle(&mut self, _: Kick, ctx: &mut Context<Self>) {
        self.relay(ctx);
    }
}

::actors::instrument!(OutboxRelay: Kick);
