//! Bootstrapping the first admin, from the command line only (never over HTTP). It writes
//! directly rather than through a command: it runs before any worker may exist, and it is an
//! operator's act on the database they own.

use crate::domain::{PasswordHashing, RegistrationForm, Role, ValidationErrors, check_strength};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("password hashing")]
    Hash(#[from] crate::infrastructure::password_hashing::HashError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Creates an admin, or promotes the existing account with that email. Returns its id.
pub async fn create_admin(
    pool: &PgPool,
    email: &str,
    username: &str,
    password: String,
    hashing: &PasswordHashing,
) -> Result<Uuid, BootstrapError> {
    let (details, password) = RegistrationForm::parse(email, username, "Admin", "User", password)
        .map_err(BootstrapError::Invalid)?;
    check_strength(&password, details.username.as_str(), details.email.as_str())
        .map_err(|e| BootstrapError::Invalid(e.into()))?;
    let hash = crate::infrastructure::password_hashing::hash(hashing, password.expose_secret())?
        .into_inner();
    let (id,): (Uuid,) = sqlx::query_as(
        // The operator vouches for the address: the first admin is not locked out by
        // REQUIRE_VERIFIED_EMAIL (there is no one to verify it for them).
        "INSERT INTO users (id, email, username, first_name, last_name, password_hash, role, email_verified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, true)
         ON CONFLICT (email) DO UPDATE SET role = EXCLUDED.role, version = users.version + 1, updated_at = now()
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(details.email.as_str())
    .bind(details.username.as_str())
    .bind(details.first_name.as_str())
    .bind(details.last_name.as_str())
    .bind(hash)
    .bind(Role::Admin.as_str())
    .fetch_one(pool)
    .await?;
    Ok(id)
}
