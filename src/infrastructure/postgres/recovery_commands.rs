//! The worker's transactions for password recovery and email verification (called from
//! `command_transaction::apply`, inside its transaction, after the command row was claimed).
//!
//! Issuing a token stores only its hash and records an event naming the token's id; the mail
//! sender derives the token from that id (see `application::one_time_token`).

use crate::application::commands::{
    CommandResult, CommandSubject, RequestEmailVerificationCommand, RequestPasswordResetCommand,
    ResetPasswordCommand, VerifyEmailCommand,
};
use crate::application::one_time_token::{TokenPolicy, TokenPurpose};
use crate::domain::{DomainEvent, UserError, UserId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Applied, Statements, statements};

/// Who a token is for.
pub struct Recipient {
    pub user_id: UserId,
    pub email: String,
    pub username: String,
}

fn succeeded(subject: CommandSubject) -> CommandResult {
    CommandResult::Succeeded { subject }
}

/// Supersedes the user's live tokens of this purpose and issues a new one; returns the event
/// that asks the notifications context to mail it.
pub async fn issue(
    tx: &mut PgConnection,
    policy: &TokenPolicy,
    purpose: TokenPurpose,
    to: Recipient,
) -> Result<DomainEvent, sqlx::Error> {
    sqlx::query(
        "UPDATE one_time_tokens SET superseded_at = now()
         WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND superseded_at IS NULL",
    )
    .bind(to.user_id.as_uuid())
    .bind(purpose.as_str())
    .execute(&mut *tx)
    .await?;
    let request_id = Uuid::now_v7();
    let (created_at, expires_at): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO one_time_tokens (id, purpose, user_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
         RETURNING created_at, expires_at",
    )
    .bind(request_id)
    .bind(purpose.as_str())
    .bind(to.user_id.as_uuid())
    .bind(policy.key.stored_hash(purpose, request_id))
    .bind(policy.ttl(purpose).as_secs_f64())
    .fetch_one(&mut *tx)
    .await?;
    let (event_id, user_id, email, username) = (Uuid::now_v7(), to.user_id, to.email, to.username);
    Ok(match purpose {
        TokenPurpose::PasswordReset => DomainEvent::PasswordResetRequested {
            event_id,
            user_id,
            request_id,
            email,
            username,
            expires_at,
            occurred_at: created_at,
        },
        TokenPurpose::EmailVerification => DomainEvent::EmailVerificationRequested {
            event_id,
            user_id,
            request_id,
            email,
            username,
            expires_at,
            occurred_at: created_at,
        },
        // Their rows name an address; `email_change_commands` issues them.
        TokenPurpose::EmailChange | TokenPurpose::EmailChangeRevert => {
            return Err(sqlx::Error::Protocol(format!(
                "{} tokens are issued by email_change_commands",
                purpose.as_str()
            )));
        }
    })
}

/// Was a token of this purpose issued to the user within the policy's interval?
async fn throttled(
    tx: &mut PgConnection,
    policy: &TokenPolicy,
    purpose: TokenPurpose,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    if policy.min_interval.is_zero() {
        return Ok(false);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM one_time_tokens WHERE user_id = $1 AND purpose = $2
                        AND created_at > now() - make_interval(secs => $3))",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(policy.min_interval.as_secs_f64())
    .fetch_one(&mut *tx)
    .await
}

statements! {
    RequestPasswordResetCommand => request_password_reset(statements);
    ResetPasswordCommand => reset_password;
    RequestEmailVerificationCommand => request_email_verification(statements);
    VerifyEmailCommand => verify_email;
}

/// Always succeeds, whether or not an active account has this address (the outcome is visible
/// to whoever holds the command id, so it must not tell the two apart).
async fn request_password_reset(
    s: Statements<'_>,
    c: RequestPasswordResetCommand,
) -> Result<Applied, sqlx::Error> {
    let (tx, policy) = (s.tx, s.tokens);
    let done = succeeded(CommandSubject::PasswordReset);
    let account: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, email, username FROM users WHERE email = $1 AND is_active FOR UPDATE",
    )
    .bind(c.email.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, email, username)) = account else {
        return Ok((done, None));
    };
    if throttled(tx, policy, TokenPurpose::PasswordReset, id).await? {
        tracing::info!(user_id = %id, "password reset throttled: a mail went out recently");
        return Ok((done, None));
    }
    let to = Recipient {
        user_id: UserId::from_uuid(id),
        email,
        username,
    };
    let event = issue(tx, policy, TokenPurpose::PasswordReset, to).await?;
    Ok((done, Some(event)))
}

/// Locks a live token of this purpose (unused, not superseded, not expired, account active)
/// and spends it; `None` if there is none.
async fn spend(
    tx: &mut PgConnection,
    purpose: TokenPurpose,
    token_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE one_time_tokens t SET used_at = now() FROM users u
         WHERE t.id = $1 AND t.purpose = $2 AND u.id = t.user_id AND u.is_active
           AND t.used_at IS NULL AND t.superseded_at IS NULL AND t.expires_at > now()
         RETURNING t.user_id",
    )
    .bind(token_id)
    .bind(purpose.as_str())
    .fetch_optional(&mut *tx)
    .await
}

async fn reset_password(
    tx: &mut PgConnection,
    c: ResetPasswordCommand,
) -> Result<Applied, sqlx::Error> {
    let Some(user_id) = spend(tx, TokenPurpose::PasswordReset, c.token_id).await? else {
        return Ok((CommandResult::Rejected(UserError::InvalidToken), None));
    };
    let (at,): (DateTime<Utc>,) = sqlx::query_as(
        "UPDATE users SET password_hash = $2, version = version + 1, updated_at = now()
         WHERE id = $1 RETURNING updated_at",
    )
    .bind(user_id)
    .bind(c.password_hash.as_str())
    .fetch_one(&mut *tx)
    .await?;
    // Whoever knew the old password is out: every session ends.
    sqlx::query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'password_reset'
         WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let user_id = UserId::from_uuid(user_id);
    Ok((
        succeeded(CommandSubject::User(user_id)),
        Some(DomainEvent::PasswordReset {
            event_id: Uuid::now_v7(),
            user_id,
            occurred_at: at,
        }),
    ))
}

/// A resend: a new token (the older ones stop working), unless the address is verified already.
async fn request_email_verification(
    s: Statements<'_>,
    c: RequestEmailVerificationCommand,
) -> Result<Applied, sqlx::Error> {
    let (tx, policy) = (s.tx, s.tokens);
    let account: Option<(String, String, bool)> = sqlx::query_as(
        "SELECT email, username, email_verified FROM users WHERE id = $1 AND is_active FOR UPDATE",
    )
    .bind(c.user_id.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, username, verified)) = account else {
        return Ok((CommandResult::Rejected(UserError::NotFound), None));
    };
    let done = succeeded(CommandSubject::User(c.user_id));
    if verified
        || throttled(
            tx,
            policy,
            TokenPurpose::EmailVerification,
            c.user_id.as_uuid(),
        )
        .await?
    {
        return Ok((done, None));
    }
    let to = Recipient {
        user_id: c.user_id,
        email,
        username,
    };
    let event = issue(tx, policy, TokenPurpose::EmailVerification, to).await?;
    Ok((done, Some(event)))
}

async fn verify_email(
    tx: &mut PgConnection,
    c: VerifyEmailCommand,
) -> Result<Applied, sqlx::Error> {
    let Some(user_id) = spend(tx, TokenPurpose::EmailVerification, c.token_id).await? else {
        return Ok((CommandResult::Rejected(UserError::InvalidToken), None));
    };
    let verified_at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE users SET email_verified = true, version = version + 1, updated_at = now()
         WHERE id = $1 AND NOT email_verified RETURNING updated_at",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let user_id = UserId::from_uuid(user_id);
    let event = verified_at.map(|at| DomainEvent::EmailVerified {
        event_id: Uuid::now_v7(),
        user_id,
        occurred_at: at,
    });
    Ok((succeeded(CommandSubject::User(user_id)), event))
}
