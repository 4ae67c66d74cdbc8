//! The worker's role-change transaction and the "last active admin" guard it shares with
//! deactivation.
//!
//! The guard must hold under concurrency: two admins demoting each other (or two workers
//! applying two demotions) at the same moment must not both succeed. Counting the other admins
//! and then updating is a read-then-write race under READ COMMITTED, so every change that can
//! remove an admin first takes one transaction-scoped advisory lock: such changes are serialised
//! (they are rare), everything else is untouched. The lock is taken before any user row is
//! locked, in every path, so two guarded transactions cannot deadlock on each other.

use super::{Applied, statements};
use crate::application::commands::ChangeRoleCommand;
use crate::application::commands::{CommandResult, CommandSubject};
use crate::domain::{DomainEvent, Role, UserError};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// An arbitrary constant naming "the set of admins" for `pg_advisory_xact_lock`.
const ADMINS_LOCK: i64 = 0x6865_7861_646d_696e; // "hexadmin"

/// Serialises every change that could remove an active admin; released at commit or rollback.
pub(super) async fn lock_admins(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ADMINS_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether an active admin other than `user_id` exists. Call under [`lock_admins`].
pub(super) async fn another_active_admin(
    tx: &mut PgConnection,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND is_active AND id <> $1)",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await
}

statements! {
    ChangeRoleCommand => change_role;
}

async fn change_role(tx: &mut PgConnection, c: ChangeRoleCommand) -> Result<Applied, sqlx::Error> {
    lock_admins(tx).await?;
    let current: Option<(String, bool)> =
        sqlx::query_as("SELECT role, is_active FROM users WHERE id = $1 FOR UPDATE")
            .bind(c.user_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    let Some((role, is_active)) = current else {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    };
    let previous = Role::parse(&role).unwrap_or(Role::User);
    let success = CommandResult::Succeeded {
        subject: CommandSubject::User(c.user_id),
    };
    if previous == c.role {
        return Ok((success, None)); // nothing changes: no version bump, no event
    }
    if previous == Role::Admin
        && is_active
        && !another_active_admin(tx, c.user_id.as_uuid()).await?
    {
        return Ok((CommandResult::Rejected(UserError::LastAdmin), None));
    }
    let (at,): (DateTime<Utc>,) = sqlx::query_as(
        "UPDATE users SET role = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING updated_at",
    )
    .bind(c.user_id.as_uuid())
    .bind(c.role.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let event = DomainEvent::user_role_changed(c.user_id, previous, c.role, at);
    Ok((success, Some(event)))
}
