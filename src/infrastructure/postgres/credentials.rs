//! The auth store's credential ports: who is logging in (by email or id), and re-hashing a
//! password at login (another algorithm or a higher cost configured since, or a hash of the
//! password before normalisation).

use super::auth_store::{AuthStore, infra};
use super::observed;
use crate::application::ports::{Credentials, FindCredentials, InfraError, UpgradePasswordHash};
use crate::domain::{PasswordHash, Role, UserId};
use actix::prelude::*;
use uuid::Uuid;

type CredentialsRow = (Uuid, String, String, String, bool, String, bool);

fn credentials(row: CredentialsRow) -> Option<Credentials> {
    let (id, email, username, role, is_active, hash, email_verified) = row;
    Some(Credentials {
        user_id: UserId::from_uuid(id),
        email,
        username,
        role: Role::parse(&role)?,
        is_active,
        password_hash: PasswordHash::new(hash),
        email_verified,
    })
}

impl Handler<FindCredentials> for AuthStore {
    type Result = ResponseFuture<Result<Option<Credentials>, InfraError>>;

    fn handle(&mut self, msg: FindCredentials, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "users", async move {
            let query = match &msg {
                FindCredentials::ByEmail(email) => sqlx::query_as::<_, CredentialsRow>(
                    "SELECT id, email, username, role, is_active, password_hash, email_verified FROM users WHERE email = $1",
                )
                .bind(email.clone()),
                FindCredentials::ById(id) => sqlx::query_as::<_, CredentialsRow>(
                    "SELECT id, email, username, role, is_active, password_hash, email_verified FROM users WHERE id = $1",
                )
                .bind(id.as_uuid()),
            };
            let row = query
                .fetch_optional(&pool)
                .await
                .map_err(infra("reading credentials"))?;
            Ok(row.and_then(credentials))
        }))
    }
}

impl Handler<UpgradePasswordHash> for AuthStore {
    type Result = ResponseFuture<Result<(), InfraError>>;

    fn handle(&mut self, msg: UpgradePasswordHash, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("update", "users", async move {
            // Only if unchanged meanwhile: a password change must never be overwritten.
            sqlx::query("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
                .bind(msg.user_id.as_uuid())
                .bind(msg.old_hash.as_str())
                .bind(msg.new_hash.as_str())
                .execute(&pool)
                .await
                .map_err(infra("upgrading a password hash"))?;
            Ok(())
        }))
    }
}

::actors::instrument!(AuthStore: FindCredentials, UpgradePasswordHash);
