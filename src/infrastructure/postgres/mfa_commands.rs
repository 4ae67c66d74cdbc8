//! The worker's TOTP transactions (enrol, confirm, disable). Only ciphertext and hashes arrive
//! here; the worker never sees a secret it could leak.

use super::{Applied, statements};
use crate::application::commands::{CommandResult, CommandSubject};
use crate::application::commands::{ConfirmTotpCommand, DisableTotpCommand, EnrolTotpCommand};
use crate::domain::UserError;
use sqlx::PgConnection;

fn done(user: crate::domain::UserId) -> Applied {
    (
        CommandResult::Succeeded {
            subject: CommandSubject::User(user),
        },
        None,
    )
}

fn rejected(e: UserError) -> Applied {
    (CommandResult::Rejected(e), None)
}

statements! {
    EnrolTotpCommand => enrol;
    ConfirmTotpCommand => confirm;
    DisableTotpCommand => disable;
}

/// Stores a pending secret, replacing any earlier pending one; an active one stays.
async fn enrol(tx: &mut PgConnection, c: EnrolTotpCommand) -> Result<Applied, sqlx::Error> {
    let exists: Option<(bool,)> = sqlx::query_as("SELECT is_active FROM users WHERE id = $1")
        .bind(c.user_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
    if !exists.is_some_and(|(active,)| active) {
        return Ok(rejected(UserError::NotFound));
    }
    let stored = sqlx::query(
        "INSERT INTO mfa_totp (user_id, secret_ciphertext) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret_ciphertext = EXCLUDED.secret_ciphertext,
             last_used_step = NULL, created_at = now()
         WHERE mfa_totp.confirmed_at IS NULL",
    )
    .bind(c.user_id.as_uuid())
    .bind(&c.sealed_secret)
    .execute(&mut *tx)
    .await?;
    if stored.rows_affected() == 0 {
        return Ok(rejected(UserError::MfaAlreadyEnabled));
    }
    Ok(done(c.user_id))
}

/// Activates the enrolment the code was checked against and stores the recovery code hashes.
async fn confirm(tx: &mut PgConnection, c: ConfirmTotpCommand) -> Result<Applied, sqlx::Error> {
    let confirmed = sqlx::query(
        "UPDATE mfa_totp SET confirmed_at = now(), last_used_step = $3
         WHERE user_id = $1 AND secret_ciphertext = $2 AND confirmed_at IS NULL",
    )
    .bind(c.user_id.as_uuid())
    .bind(&c.sealed_secret)
    .bind(c.step)
    .execute(&mut *tx)
    .await?;
    if confirmed.rows_affected() == 0 {
        return Ok(rejected(UserError::MfaNotPending));
    }
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(c.user_id.as_uuid())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO mfa_recovery_codes (code_hash, user_id) SELECT unnest($2::bytea[]), $1",
    )
    .bind(c.user_id.as_uuid())
    .bind(&c.recovery_code_hashes)
    .execute(&mut *tx)
    .await?;
    Ok(done(c.user_id))
}

/// Removes the second factor (and its recovery codes); harmless when there is none.
async fn disable(tx: &mut PgConnection, c: DisableTotpCommand) -> Result<Applied, sqlx::Error> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(c.user_id.as_uuid())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
        .bind(c.user_id.as_uuid())
        .execute(&mut *tx)
        .await?;
    Ok(done(c.user_id))
}
