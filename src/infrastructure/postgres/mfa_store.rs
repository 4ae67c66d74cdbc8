//! The auth store answers the TOTP login ports: the (sealed) enrolment, MFA challenges, and the
//! single-use bookkeeping of codes. Each "use" is one conditional UPDATE, so two concurrent
//! uses of one code or one token cannot both succeed.

use super::auth_store::{AuthStore, infra};
use crate::application::mfa_ports::*;
use crate::application::ports::InfraError;
use crate::domain::UserId;
use actix::prelude::*;
use base64::Engine as _;
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Handler<FindTotp> for AuthStore {
    type Result = ResponseFuture<Result<Option<TotpRecord>, InfraError>>;

    fn handle(&mut self, msg: FindTotp, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let row: Option<(Vec<u8>, bool, Option<i64>)> = sqlx::query_as(
                "SELECT secret_ciphertext, confirmed_at IS NOT NULL, last_used_step FROM mfa_totp WHERE user_id = $1",
            )
            .bind(msg.user_id.as_uuid())
            .fetch_optional(&pool)
            .await
            .map_err(infra("reading a TOTP enrolment"))?;
            Ok(
                row.map(|(sealed_secret, confirmed, last_used_step)| TotpRecord {
                    sealed_secret,
                    confirmed,
                    last_used_step,
                }),
            )
        })
    }
}

impl Handler<CreateMfaChallenge> for AuthStore {
    type Result = ResponseFuture<Result<String, InfraError>>;

    fn handle(&mut self, msg: CreateMfaChallenge, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(crate::application::mfa::random_bytes::<32>());
            let expires = Utc::now()
                + chrono::Duration::from_std(msg.ttl).unwrap_or(chrono::Duration::minutes(5));
            sqlx::query(
                "INSERT INTO mfa_challenges (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash(&token))
            .bind(msg.user_id.as_uuid())
            .bind(expires)
            .execute(&pool)
            .await
            .map_err(infra("creating an MFA challenge"))?;
            Ok(token)
        })
    }
}

impl Handler<ConsumeMfaChallenge> for AuthStore {
    type Result = ResponseFuture<Result<Option<UserId>, InfraError>>;

    fn handle(&mut self, msg: ConsumeMfaChallenge, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let user: Option<(Uuid,)> = sqlx::query_as(
                "UPDATE mfa_challenges SET used_at = now()
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
                 RETURNING user_id",
            )
            .bind(token_hash(&msg.token))
            .fetch_optional(&pool)
            .await
            .map_err(infra("spending an MFA challenge"))?;
            Ok(user.map(|(id,)| UserId::from_uuid(id)))
        })
    }
}

impl Handler<UseTotpStep> for AuthStore {
    type Result = ResponseFuture<Result<bool, InfraError>>;

    fn handle(&mut self, msg: UseTotpStep, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let used = sqlx::query(
                "UPDATE mfa_totp SET last_used_step = $2
                 WHERE user_id = $1 AND confirmed_at IS NOT NULL
                   AND (last_used_step IS NULL OR last_used_step < $2)",
            )
            .bind(msg.user_id.as_uuid())
            .bind(msg.step)
            .execute(&pool)
            .await
            .map_err(infra("recording a TOTP step"))?;
            Ok(used.rows_affected() == 1)
        })
    }
}

impl Handler<UseRecoveryCode> for AuthStore {
    type Result = ResponseFuture<Result<bool, InfraError>>;

    fn handle(&mut self, msg: UseRecoveryCode, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let used = sqlx::query(
                "UPDATE mfa_recovery_codes SET used_at = now()
                 WHERE code_hash = $1 AND user_id = $2 AND used_at IS NULL",
            )
            .bind(&msg.code_hash)
            .bind(msg.user_id.as_uuid())
            .execute(&pool)
            .await
            .map_err(infra("spending a recovery code"))?;
            Ok(used.rows_affected() == 1)
        })
    }
}

::actors::instrument!(
    AuthStore: FindTotp,
    CreateMfaChallenge,
    ConsumeMfaChallenge,
    UseTotpStep,
    UseRecoveryCode
);
