//! The worker's transactions. Each one locks the command's row first: a command already in a
//! terminal state is not applied again (exactly-once effects over at-least-once delivery), and
//! the state change, the command's outcome and the resulting event commit together.

use super::recovery_commands as recovery;
use super::unique_violation;
use crate::application::commands::{
    ChangePasswordCommand, Command, CommandResult, CommandStatus, CommandSubject,
    DeactivateUserCommand, RegisterUserCommand, UpdateUserCommand,
};
use crate::application::one_time_token::{TokenPolicy, TokenPurpose};
use crate::domain::{DomainEvent, UserError};
use crate::infrastructure::messaging::names::Names;
use crate::infrastructure::postgres::outbox_relay::OutboxHeaders;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row as _};
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
    let (result, event) = match command {
        Command::RegisterUser(c) => {
            let to = recovery::Recipient {
                user_id: c.user_id,
                email: c.details.email.as_str().to_owned(),
                username: c.details.username.as_str().to_owned(),
            };
            let (result, created) = register(&mut tx, c).await?;
            // A new account is asked to prove its address (a second event, same transaction).
            if let Some(created) = created {
                record_event(&mut tx, names, &created).await?;
                let verify =
                    recovery::issue(&mut tx, tokens, TokenPurpose::EmailVerification, to).await?;
                (result, Some(verify))
            } else {
                (result, None)
            }
        }
        Command::UpdateUser(c) => update(&mut tx, c).await?,
        Command::DeactivateUser(c) => deactivate(&mut tx, c).await?,
        Command::ChangePassword(c) => change_password(&mut tx, c).await?,
        Command::ChangeRole(c) => super::role_commands::change_role(&mut tx, c).await?,
        Command::EnrolTotp(c) => super::mfa_commands::enrol(&mut tx, c).await?,
        Command::ConfirmTotp(c) => super::mfa_commands::confirm(&mut tx, c).await?,
        Command::DisableTotp(c) => super::mfa_commands::disable(&mut tx, c).await?,
        Command::RequestPasswordReset(c) => {
            recovery::request_password_reset(&mut tx, tokens, c).await?
        }
        Command::ResetPassword(c) => recovery::reset_password(&mut tx, c).await?,
        Command::RequestEmailVerification(c) => {
            recovery::request_email_verification(&mut tx, tokens, c).await?
        }
        Command::VerifyEmail(c) => recovery::verify_email(&mut tx, c).await?,
    };
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

async fn record_event(
    tx: &mut PgConnection,
    names: &Names,
    event: &DomainEvent,
) -> Result<(), sqlx::Error> {
    // An event nobody subscribed to yet is not an error: not mandatory.
    let headers = OutboxHeaders {
        message_type: event.event_type().to_owned(),
        request_id: None,
        traceparent: None,
        reply_to: None,
        mandatory: false,
    };
    sqlx::query("INSERT INTO outbox (message_id, exchange, routing_key, payload, headers) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.event_id())
        .bind(&names.events_exchange)
        .bind(event.routing_key())
        .bind(serde_json::to_vec(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?)
        .bind(sqlx::types::Json(headers))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Runs `statement` inside a savepoint, turning unique violations into business rejections.
/// Only for statements that write a unique column (email, username): any other statement cannot
/// raise a unique violation, and the savepoint is a round trip of its own.
async fn unique_or<T>(
    tx: &mut PgConnection,
    statement: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
) -> Result<Result<T, UserError>, sqlx::Error> {
    sqlx::query("SAVEPOINT unique_check")
        .execute(&mut *tx)
        .await?;
    match statement(&mut *tx).await {
        Ok(v) => Ok(Ok(v)),
        Err(error) => {
            let rejection = match unique_violation(&error).as_deref() {
                Some("users_email_key") => UserError::EmailTaken,
                Some("users_username_lower_key") => UserError::UsernameTaken,
                _ => return Err(error),
            };
            sqlx::query("ROLLBACK TO SAVEPOINT unique_check")
                .execute(&mut *tx)
                .await?;
            Ok(Err(rejection))
        }
    }
}

pub(super) type Applied = (CommandResult, Option<DomainEvent>);

async fn register(tx: &mut PgConnection, c: RegisterUserCommand) -> Result<Applied, sqlx::Error> {
    let inserted = unique_or(tx, async |tx| {
        sqlx::query(
            "INSERT INTO users (id, email, username, first_name, last_name, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at",
        )
        .bind(c.user_id.as_uuid())
        .bind(c.details.email.as_str())
        .bind(c.details.username.as_str())
        .bind(c.details.first_name.as_str())
        .bind(c.details.last_name.as_str())
        .bind(c.password_hash.as_str())
        .fetch_one(tx)
        .await
    })
    .await?;
    Ok(match inserted {
        Ok(row) => {
            let created_at: DateTime<Utc> = row.try_get("created_at")?;
            let event = DomainEvent::UserCreated {
                event_id: Uuid::now_v7(),
                user_id: c.user_id,
                email: c.details.email.as_str().to_owned(),
                username: c.details.username.as_str().to_owned(),
                occurred_at: created_at,
            };
            (
                CommandResult::Succeeded {
                    subject: CommandSubject::User(c.user_id),
                },
                Some(event),
            )
        }
        Err(rejection) => (CommandResult::Rejected(rejection), None),
    })
}

async fn update(tx: &mut PgConnection, c: UpdateUserCommand) -> Result<Applied, sqlx::Error> {
    // One statement reads, checks and writes the row: no `SELECT version … FOR UPDATE` first.
    // No lost update: UPDATE locks the row, and if another transaction changed it meanwhile,
    // PostgreSQL re-evaluates `version = $5` on the newest committed version before writing
    // (READ COMMITTED's recheck), so a stale `expected_version` matches no row, exactly as the
    // locked read compared it before; without one, `version + 1` is computed on that newest row.
    let changes = c.changes.clone();
    let statement = async |tx: &mut PgConnection| {
        sqlx::query_as::<_, (DateTime<Utc>,)>(
            "UPDATE users SET first_name = coalesce($2, first_name), last_name = coalesce($3, last_name),
                    username = coalesce($4, username), version = version + 1, updated_at = now()
             WHERE id = $1 AND ($5::bigint IS NULL OR version = $5) RETURNING updated_at",
        )
        .bind(c.user_id.as_uuid())
        .bind(changes.first_name.as_ref().map(|n| n.as_str()))
        .bind(changes.last_name.as_ref().map(|n| n.as_str()))
        .bind(changes.username.as_ref().map(|u| u.as_str()))
        .bind(c.expected_version)
        .fetch_optional(tx)
        .await
    };
    // Only a new username can collide (email is not changed here): the savepoint that turns the
    // collision into a rejection is taken only then.
    let updated = if changes.username.is_some() {
        unique_or(tx, statement).await?
    } else {
        Ok(statement(&mut *tx).await?)
    };
    Ok(match updated {
        Ok(Some((at,))) => {
            let event = DomainEvent::user_updated(c.user_id, c.changes.changed_fields(), at);
            (
                CommandResult::Succeeded {
                    subject: CommandSubject::User(c.user_id),
                },
                Some(event),
            )
        }
        Ok(None) => {
            // No row written: the user is missing, or its version is not the expected one. The
            // rare path pays the extra read that tells which.
            let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM users WHERE id = $1")
                .bind(c.user_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let rejection = if exists.is_some() {
                UserError::VersionMismatch
            } else {
                UserError::NotFound
            };
            (CommandResult::Rejected(rejection), None)
        }
        Err(rejection) => (CommandResult::Rejected(rejection), None),
    })
}

async fn deactivate(
    tx: &mut PgConnection,
    c: DeactivateUserCommand,
) -> Result<Applied, sqlx::Error> {
    // Before the row lock, as in every path that can remove an admin (no deadlock).
    super::role_commands::lock_admins(tx).await?;
    let exists: Option<(bool, String)> =
        sqlx::query_as("SELECT is_active, role FROM users WHERE id = $1 FOR UPDATE")
            .bind(c.user_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    let Some((was_active, role)) = exists else {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    };
    if was_active
        && role == crate::domain::Role::Admin.as_str()
        && !super::role_commands::another_active_admin(tx, c.user_id.as_uuid()).await?
    {
        return Ok((CommandResult::Rejected(UserError::LastAdmin), None));
    }
    // Sessions end at once, whether or not this is a repeat.
    sqlx::query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'deactivated' WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(c.user_id.as_uuid())
    .execute(&mut *tx)
    .await?;
    let success = CommandResult::Succeeded {
        subject: CommandSubject::User(c.user_id),
    };
    if !was_active {
        return Ok((success, None)); // already deactivated: harmless, no second event
    }
    let (at,): (DateTime<Utc>,) = sqlx::query_as(
        "UPDATE users SET is_active = false, version = version + 1, updated_at = now() WHERE id = $1 RETURNING updated_at",
    )
    .bind(c.user_id.as_uuid())
    .fetch_one(&mut *tx)
    .await?;
    Ok((success, Some(DomainEvent::user_deactivated(c.user_id, at))))
}

async fn change_password(
    tx: &mut PgConnection,
    c: ChangePasswordCommand,
) -> Result<Applied, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE users SET password_hash = $2, version = version + 1, updated_at = now() WHERE id = $1 AND is_active",
    )
    .bind(c.user_id.as_uuid())
    .bind(c.password_hash.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    }
    sqlx::query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'password_changed'
         WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2",
    )
    .bind(c.user_id.as_uuid())
    .bind(c.keep_session)
    .execute(&mut *tx)
    .await?;
    Ok((
        CommandResult::Succeeded {
            subject: CommandSubject::User(c.user_id),
        },
        None,
    ))
}
