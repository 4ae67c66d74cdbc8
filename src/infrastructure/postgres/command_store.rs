//! The command log: records a command together with its outbox message (one transaction), and
//! answers command-status queries.

use super::observed;
use crate::application::commands::{CommandRecord, CommandStatus, CommandSubject, FailureCode};
use crate::application::ports::{
    GetCommand, InfraError, ListUserCommands, Submission, SubmitCommand,
};
use crate::infrastructure::messaging::names::Names;
use crate::infrastructure::postgres::outbox_relay::{Kick, OutboxHeaders, OutboxRelay};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub struct CommandStore {
    pool: PgPool,
    names: Names,
    relay: Option<::actors::ActorRef<OutboxRelay>>,
}

impl CommandStore {
    pub fn new(pool: PgPool, names: Names, relay: Option<::actors::ActorRef<OutboxRelay>>) -> Self {
        Self { pool, names, relay }
    }
}

impl Actor for CommandStore {
    type Context = Context<Self>;
}

impl Supervised for CommandStore {}

/// The columns a [`CommandRow`] is read from, in its order.
const COLUMNS: &str = "id, type, status, error_code, error_detail, subject_kind, subject_id, \
                       created_at, completed_at";

type CommandRow = (
    Uuid,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Uuid>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

fn record(row: CommandRow) -> Result<CommandRecord, InfraError> {
    let (
        id,
        kind,
        status,
        error_code,
        error_detail,
        subject_kind,
        subject_id,
        created_at,
        completed_at,
    ) = row;
    let status = CommandStatus::parse(&status)
        .ok_or_else(|| InfraError::msg(format!("unknown command status {status:?}")))?;
    let error_code = error_code
        .map(|code| {
            FailureCode::parse(&code).ok_or_else(|| {
                InfraError::msg(format!("command {id}: unknown error code {code:?}"))
            })
        })
        .transpose()?;
    let subject = subject_kind
        .map(|kind| {
            CommandSubject::from_columns(&kind, subject_id).ok_or_else(|| {
                InfraError::msg(format!(
                    "command {id}: unknown subject {kind:?} {subject_id:?}"
                ))
            })
        })
        .transpose()?;
    Ok(CommandRecord {
        id,
        kind,
        status,
        error_code,
        error_detail,
        subject,
        created_at,
        completed_at,
    })
}

pub(crate) async fn fetch_command(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<CommandRecord>, InfraError> {
    let row: Option<CommandRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM commands WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| InfraError::new("reading a command", e))?;
    row.map(record).transpose()
}

async fn user_commands(
    pool: &PgPool,
    msg: ListUserCommands,
) -> Result<Vec<CommandRecord>, InfraError> {
    // Served by commands_by_subject (subject_id, created_at DESC).
    let rows: Vec<CommandRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM commands WHERE subject_kind = 'user' AND subject_id = $1
             ORDER BY created_at DESC LIMIT $2"
    )))
    .bind(msg.user_id.as_uuid())
    .bind(i64::from(msg.limit))
    .fetch_all(pool)
    .await
    .map_err(|e| InfraError::new("listing a user's commands", e))?;
    rows.into_iter().map(record).collect()
}

async fn submit(pool: PgPool, names: Names, msg: SubmitCommand) -> Result<Submission, sqlx::Error> {
    let command_id = msg.command.id();
    let mut tx = pool.begin().await?;
    let inserted: Option<(Uuid,)> = sqlx::query_as(
        "INSERT INTO commands (id, type, status, idempotency_key, request_fingerprint)
         VALUES ($1, $2, 'pending', $3, $4)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id",
    )
    .bind(command_id)
    .bind(msg.command.kind())
    .bind(&msg.idempotency_key)
    .bind(&msg.fingerprint)
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_none() {
        // The key was used before (possibly by a request still in flight: the insert above
        // waited for it to commit). Same request → the original command; else a misuse.
        let (original, fingerprint): (Uuid, Option<Vec<u8>>) = sqlx::query_as(
            "SELECT id, request_fingerprint FROM commands WHERE idempotency_key = $1",
        )
        .bind(&msg.idempotency_key)
        .fetch_one(&mut *tx)
        .await?;
        tx.rollback().await?;
        return Ok(if fingerprint == msg.fingerprint {
            Submission::Replayed {
                command_id: original,
            }
        } else {
            Submission::KeyReused
        });
    }
    let payload = serde_json::to_vec(&msg.command).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let headers = OutboxHeaders {
        message_type: msg.command.kind().to_owned(),
        schema_version: msg.command.schema_version(),
        request_id: msg.request_id,
        traceparent: msg.traceparent,
        reply_to: msg.reply_to,
        mandatory: true,
    };
    sqlx::query(
        "INSERT INTO outbox (message_id, exchange, routing_key, payload, headers) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(command_id)
    .bind(&names.commands_exchange)
    .bind(msg.command.routing_key())
    .bind(payload)
    .bind(sqlx::types::Json(headers))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Submission::Accepted { command_id })
}

impl Handler<SubmitCommand> for CommandStore {
    type Result = ResponseFuture<Result<Submission, InfraError>>;

    fn handle(&mut self, msg: SubmitCommand, _: &mut Context<Self>) -> Self::Result {
        let (pool, names, relay) = (self.pool.clone(), self.names.clone(), self.relay.clone());
        let declaration = msg.command.declaration();
        Box::pin(async move {
            let submission = observed::timed("insert", "commands", submit(pool, names, msg))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "recording a command failed");
                    InfraError::new("recording a command", e)
                })?;
            if let Submission::Accepted { .. } = submission {
                crate::metrics::command_accepted(declaration);
                // Publish now rather than at the relay's next poll.
                if let Some(relay) = relay {
                    relay.tell(Kick);
                }
            }
            Ok(submission)
        })
    }
}

impl Handler<GetCommand> for CommandStore {
    type Result = ResponseFuture<Result<Option<CommandRecord>, InfraError>>;

    fn handle(&mut self, msg: GetCommand, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            observed::query("get_command", "commands", fetch_command(&pool, msg.id)).await
        })
    }
}

impl Handler<ListUserCommands> for CommandStore {
    type Result = ResponseFuture<Result<Vec<CommandRecord>, InfraError>>;

    fn handle(&mut self, msg: ListUserCommands, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            observed::query("list_user_commands", "commands", user_commands(&pool, msg)).await
        })
    }
}

::actors::instrument!(CommandStore: SubmitCommand, GetCommand, ListUserCommands);
