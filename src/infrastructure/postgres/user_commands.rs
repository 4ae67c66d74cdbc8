//! The worker's transactions for the user commands (register, update, deactivate, change the
//! password), each run inside the exactly-once frame of `command_transaction`.

use super::recovery_commands::{self as recovery, Recipient};
use super::{Applied, Statements, record_event, statements, unique_violation};
use crate::application::commands::{
    ChangePasswordCommand, CommandResult, CommandSubject, DeactivateUserCommand,
    RegisterUserCommand, UpdateUserCommand,
};
use crate::application::one_time_token::TokenPurpose;
use crate::domain::{DomainEvent, UserError};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row as _};
use uuid::Uuid;

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

statements! {
    RegisterUserCommand => register(statements);
    UpdateUserCommand => update;
    DeactivateUserCommand => deactivate;
    ChangePasswordCommand => change_password;
}

/// A new account, and (a second event, same transaction) the request to prove its address.
async fn register(s: Statements<'_>, c: RegisterUserCommand) -> Result<Applied, sqlx::Error> {
    let to = Recipient {
        user_id: c.user_id,
        email: c.details.email.as_str().to_owned(),
        username: c.details.username.as_str().to_owned(),
    };
    let inserted = unique_or(s.tx, async |tx| {
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
    let row = match inserted {
        Ok(row) => row,
        Err(rejection) => return Ok((CommandResult::Rejected(rejection), None)),
    };
    let created_at: DateTime<Utc> = row.try_get("created_at")?;
    let created = DomainEvent::UserCreated {
        event_id: Uuid::now_v7(),
        user_id: c.user_id,
        email: to.email.clone(),
        username: to.username.clone(),
        occurred_at: created_at,
    };
    record_event(s.tx, s.names, &created).await?;
    let verify = recovery::issue(s.tx, s.tokens, TokenPurpose::EmailVerification, to).await?;
    let success = CommandResult::Succeeded {
        subject: CommandSubject::User(c.user_id),
    };
    Ok((success, Some(verify)))
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
