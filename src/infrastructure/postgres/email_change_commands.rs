//! The worker's transactions for an email change (called from `command_transaction::apply`,
//! inside its transaction, after the command row was claimed).
//!
//! A request issues up to two one-time tokens, each row naming the address it is about: one that
//! proves the new address (mailed there, `EMAIL_CHANGE_TTL_SECONDS`) and one that undoes the change
//! (mailed to the old address, 7 days). Only their hashes are stored; the event names their ids
//! and the mail sender derives the tokens from those (see `application::one_time_token`).

use crate::application::commands::{
    ChangeEmailCommand, CommandResult, CommandSubject, ConfirmEmailChangeCommand,
    RevertEmailChangeCommand,
};
use crate::application::one_time_token::{TokenPolicy, TokenPurpose};
use crate::domain::{DomainEvent, UserError, UserId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Applied, Statements, statements};

statements! {
    ChangeEmailCommand => change_email(statements);
    ConfirmEmailChangeCommand => confirm_email_change;
    RevertEmailChangeCommand => revert_email_change;
}

fn done(user_id: UserId) -> CommandResult {
    CommandResult::Succeeded {
        subject: CommandSubject::User(user_id),
    }
}

/// Does an account other than `user_id` (active or not: the address stays reserved) use it?
async fn taken_by_another(
    tx: &mut PgConnection,
    email: &str,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1 AND id <> $2)")
        .bind(email)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
}

/// Stores the hash of a new token of `purpose` about `email`; returns its id and expiry.
async fn issue(
    tx: &mut PgConnection,
    policy: &TokenPolicy,
    purpose: TokenPurpose,
    user_id: Uuid,
    email: &str,
) -> Result<(Uuid, DateTime<Utc>), sqlx::Error> {
    let id = Uuid::now_v7();
    let expires_at = sqlx::query_scalar(
        "INSERT INTO one_time_tokens (id, purpose, user_id, token_hash, expires_at, email)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6) RETURNING expires_at",
    )
    .bind(id)
    .bind(purpose.as_str())
    .bind(user_id)
    .bind(policy.key.stored_hash(purpose, id))
    .bind(policy.ttl(purpose).as_secs_f64())
    .bind(email)
    .fetch_one(&mut *tx)
    .await?;
    Ok((id, expires_at))
}

/// Ends the user's pending (unconfirmed) email change, if any: a newer request replaces it, and
/// a revert cancels it.
async fn cancel_pending(tx: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE one_time_tokens SET superseded_at = now()
         WHERE user_id = $1 AND purpose = 'email_change'
           AND used_at IS NULL AND superseded_at IS NULL",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Succeeds whether or not the new address is free, so that its outcome (visible to the
/// requester) never tells whether another account uses it; when one does, nothing is sent to
/// that address. The old address is always told, with an undo link.
async fn change_email(s: Statements<'_>, c: ChangeEmailCommand) -> Result<Applied, sqlx::Error> {
    let (tx, policy) = (s.tx, s.tokens);
    let user_id = c.user_id.as_uuid();
    let account: Option<(String, String)> =
        sqlx::query_as("SELECT email, username FROM users WHERE id = $1 AND is_active FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((old_email, username)) = account else {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    };
    let new_email = c.new_email.as_str();
    if new_email == old_email {
        return Ok((done(c.user_id), None));
    }
    cancel_pending(tx, user_id).await?;
    let confirm = if taken_by_another(tx, new_email, user_id).await? {
        tracing::info!(%user_id, "email change to an address in use: nothing is sent there");
        None
    } else {
        Some(issue(tx, policy, TokenPurpose::EmailChange, user_id, new_email).await?)
    };
    let (revert_request_id, revert_expires_at) = issue(
        tx,
        policy,
        TokenPurpose::EmailChangeRevert,
        user_id,
        &old_email,
    )
    .await?;
    let event = DomainEvent::EmailChangeRequested {
        event_id: Uuid::now_v7(),
        user_id: c.user_id,
        occurred_at: Utc::now(),
        username,
        old_email,
        new_email: confirm.map(|_| new_email.to_owned()),
        confirm_request_id: confirm.map(|(id, _)| id),
        confirm_expires_at: confirm.map(|(_, at)| at),
        revert_request_id,
        revert_expires_at,
    };
    Ok((done(c.user_id), Some(event)))
}

/// Locks a live token of this purpose (unused, not superseded, not expired, account active);
/// returns its user and the address it is about.
async fn live(
    tx: &mut PgConnection,
    purpose: TokenPurpose,
    token_id: Uuid,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.user_id, t.email FROM one_time_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.id = $1 AND t.purpose = $2 AND u.is_active AND t.email IS NOT NULL
           AND t.used_at IS NULL AND t.superseded_at IS NULL AND t.expires_at > now()
         FOR UPDATE OF t, u",
    )
    .bind(token_id)
    .bind(purpose.as_str())
    .fetch_optional(&mut *tx)
    .await
}

async fn spend(tx: &mut PgConnection, token_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE one_time_tokens SET used_at = now() WHERE id = $1")
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Sets the address (proved by the link just followed, so verified); returns the old one.
async fn set_email(
    tx: &mut PgConnection,
    user_id: Uuid,
    email: &str,
) -> Result<(String, DateTime<Utc>), sqlx::Error> {
    sqlx::query_as(
        "UPDATE users u SET email = $2, email_verified = true, version = u.version + 1,
                updated_at = now()
         FROM (SELECT email FROM users WHERE id = $1) old
         WHERE u.id = $1 RETURNING old.email, u.updated_at",
    )
    .bind(user_id)
    .bind(email)
    .fetch_one(&mut *tx)
    .await
}

/// The address taken meanwhile is a 409 and leaves the token live (it works again should the
/// address become free before it expires).
async fn confirm_email_change(
    tx: &mut PgConnection,
    c: ConfirmEmailChangeCommand,
) -> Result<Applied, sqlx::Error> {
    let Some((user_id, new_email)) = live(tx, TokenPurpose::EmailChange, c.token_id).await? else {
        return Ok((CommandResult::Rejected(UserError::InvalidToken), None));
    };
    if taken_by_another(tx, &new_email, user_id).await? {
        return Ok((CommandResult::Rejected(UserError::EmailTaken), None));
    }
    spend(tx, c.token_id).await?;
    let (old_email, at) = set_email(tx, user_id, &new_email).await?;
    let user_id = UserId::from_uuid(user_id);
    let event = DomainEvent::UserEmailChanged {
        event_id: Uuid::now_v7(),
        user_id,
        occurred_at: at,
        old_email,
        new_email,
    };
    Ok((done(user_id), Some(event)))
}

/// Restores the old address (confirmed or still pending, the change is undone), and ends every
/// session: whoever asked for the change may hold one.
async fn revert_email_change(
    tx: &mut PgConnection,
    c: RevertEmailChangeCommand,
) -> Result<Applied, sqlx::Error> {
    let Some((user_id, email)) = live(tx, TokenPurpose::EmailChangeRevert, c.token_id).await?
    else {
        return Ok((CommandResult::Rejected(UserError::InvalidToken), None));
    };
    if taken_by_another(tx, &email, user_id).await? {
        return Ok((CommandResult::Rejected(UserError::EmailTaken), None));
    }
    spend(tx, c.token_id).await?;
    cancel_pending(tx, user_id).await?;
    let (reverted_email, at) = set_email(tx, user_id, &email).await?;
    sqlx::query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'email_change_reverted'
         WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let user_id = UserId::from_uuid(user_id);
    let event = DomainEvent::UserEmailChangeReverted {
        event_id: Uuid::now_v7(),
        user_id,
        occurred_at: at,
        email,
        reverted_email,
    };
    Ok((done(user_id), Some(event)))
}
