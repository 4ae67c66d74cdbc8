//! Remembered consent: what a person allowed a (third-party) client, listed on the account page
//! ("Connected applications") and taken back there, which also ends the client's grants.

use super::auth_store::{AuthStore, infra};
use super::observed;
use crate::application::oauth2::ports::{
    ConsentInfo, FindConsent, ListConsents, RevokeConsent, SaveConsent,
};
use crate::application::ports::InfraError;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

impl Handler<FindConsent> for AuthStore {
    type Result = ResponseFuture<Result<Vec<String>, InfraError>>;

    fn handle(&mut self, msg: FindConsent, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "oauth2_consents", async move {
            let scopes: Option<Vec<String>> = sqlx::query_scalar(
                "SELECT scopes FROM oauth2_consents WHERE user_id = $1 AND client_id = $2",
            )
            .bind(msg.user_id.as_uuid())
            .bind(msg.client_id)
            .fetch_optional(&pool)
            .await
            .map_err(infra("reading a consent"))?;
            Ok(scopes.unwrap_or_default())
        }))
    }
}

impl Handler<SaveConsent> for AuthStore {
    type Result = ResponseFuture<Result<(), InfraError>>;

    fn handle(&mut self, msg: SaveConsent, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("upsert", "oauth2_consents", async move {
            sqlx::query(
                "INSERT INTO oauth2_consents (user_id, client_id, scopes) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, client_id) DO UPDATE SET granted_at = now(),
                     scopes = ARRAY(SELECT DISTINCT unnest(oauth2_consents.scopes || EXCLUDED.scopes))",
            )
            .bind(msg.user_id.as_uuid())
            .bind(msg.client_id)
            .bind(msg.scopes)
            .execute(&pool)
            .await
            .map_err(infra("saving a consent"))?;
            Ok(())
        }))
    }
}

impl Handler<ListConsents> for AuthStore {
    type Result = ResponseFuture<Result<Vec<ConsentInfo>, InfraError>>;

    fn handle(&mut self, msg: ListConsents, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(observed::timed("select", "oauth2_consents", async move {
            let rows: Vec<(Uuid, String, Vec<String>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT c.client_id, k.name, c.scopes, c.granted_at
                 FROM oauth2_consents c JOIN oauth2_clients k ON k.id = c.client_id
                 WHERE c.user_id = $1 ORDER BY c.granted_at DESC",
            )
            .bind(msg.user_id.as_uuid())
            .fetch_all(&pool)
            .await
            .map_err(infra("listing consents"))?;
            Ok(rows
                .into_iter()
                .map(|(client_id, client_name, scopes, granted_at)| ConsentInfo {
                    client_id,
                    client_name,
                    scopes,
                    granted_at,
                })
                .collect())
        }))
    }
}

impl Handler<RevokeConsent> for AuthStore {
    type Result = ResponseActFuture<Self, Result<bool, InfraError>>;

    fn handle(&mut self, msg: RevokeConsent, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        let revoke = async move {
            let mut tx = pool.begin().await?;
            let (user_id, client_id) = (msg.user_id.as_uuid(), msg.client_id);
            let gone =
                sqlx::query("DELETE FROM oauth2_consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
            sqlx::query(
                "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'consent_revoked'
                 WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(gone.rows_affected() > 0)
        };
        Box::pin(
            observed::timed("upsert", "oauth2_consents", revoke)
                .into_actor(self)
                .map(|result, act, _| {
                    act.forget_all();
                    result.map_err(infra("revoking a consent"))
                }),
        )
    }
}

::actors::instrument!(AuthStore: FindConsent, SaveConsent, ListConsents, RevokeConsent);
