//! The worker's transactions. Each one locks the command's row first: a command already in a
//! terminal state is not applied again (exactly-once effects over at-least-once delivery), and
//! the state change, the command's outcome and the resulting event commit together. This is that
//! frame; the statements of each command live with their context (`user_commands`,
//! `role_commands`, `mfa_commands`, `recovery_commands`, `email_change_commands`), found through
//! `Applies`.

use super::{Statements, record_event};
use crate::application::commands::{Command, CommandResult, CommandStatus, CommandSubject};
use crate::application::one_time_token::TokenPolicy;
use crate::infrastructure::messaging::names::Names;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub async fn apply(
    pool: &PgPool,
    names: &Names,
    tokens: &TokenPolicy,
    command: Command,
) -> Result<CommandResult, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if let Some(done) = claim(&mut tx, command.id(), command.kind()).await? {
        tx.rollback().await?;
        return Ok(CommandResult::AlreadyApplied(done));
    }
    let command_id = command.id();
    let statements = Statements {
        tx: &mut tx,
        names,
        tokens,
    };
    let (result, event) = command.apply_with(statements).await?;
    if let Some(event) = event {
        record_event(&mut tx, names, &event).await?;
    }
    finish(&mut tx, command_id, &result).await?;
    tx.commit().await?;
    Ok(result)
}

/// Locks the command row (creating it for a command injected without one). Returns its status
/// if it is already terminal.
///
/// Why this is still an idempotent claim with one round trip in the usual case: the API commits
/// the command row before its outbox message can be published, so for every command that came
/// through the API the row exists and `SELECT … FOR UPDATE` finds and locks it at once (the
/// `INSERT … ON CONFLICT DO NOTHING` that used to come first was a round trip that did nothing).
/// Only a command injected without a row (a replay from the dead-letter queue, a test) finds
/// none; then it is inserted (`ON CONFLICT DO NOTHING`: a concurrent claimer that inserted it
/// first wins, and this waits for that transaction before doing nothing) and locked as before.
/// Either way the row lock is held until commit, so two deliveries of one command serialise here
/// and the second sees the first's terminal status.
async fn claim(
    tx: &mut PgConnection,
    id: Uuid,
    kind: &str,
) -> Result<Option<CommandStatus>, sqlx::Error> {
    let lock = || sqlx::query_as("SELECT status FROM commands WHERE id = $1 FOR UPDATE").bind(id);
    let found: Option<(String,)> = lock().fetch_optional(&mut *tx).await?;
    let (status,) = match found {
        Some(row) => row,
        None => {
            sqlx::query(
                "INSERT INTO commands (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
            lock().fetch_one(&mut *tx).await?
        }
    };
    Ok(CommandStatus::parse(&status).filter(|s| s.is_terminal()))
}

async fn finish(
    tx: &mut PgConnection,
    id: Uuid,
    result: &CommandResult,
) -> Result<(), sqlx::Error> {
    let (status, code, detail, subject) = match result {
        CommandResult::Succeeded { subject } => ("succeeded", None, None, Some(*subject)),
        CommandResult::Rejected(e) => ("failed", Some(e.code()), Some(e.to_string()), None),
        CommandResult::AlreadyApplied(_) => return Ok(()),
    };
    sqlx::query(
        "UPDATE commands SET status = $2, error_code = $3, error_detail = $4, subject_kind = $5,
                subject_id = $6, completed_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(code)
    .bind(detail)
    .bind(subject.map(CommandSubject::kind))
    .bind(subject.and_then(CommandSubject::id))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
