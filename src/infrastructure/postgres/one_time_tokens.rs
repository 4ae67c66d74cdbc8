//! API side of one-time tokens: find the live token a user presented (by its hash). Spending it
//! is the worker's job, inside the command's transaction.

use crate::application::ports::InfraError;
use crate::application::recovery::{FindLiveToken, LiveToken};
use crate::domain::UserId;
use actix::prelude::*;
use sqlx::PgPool;
use uuid::Uuid;

pub struct TokenStore {
    pool: PgPool,
}

impl TokenStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl Actor for TokenStore {
    type Context = Context<Self>;
}

impl Supervised for TokenStore {}

impl Handler<FindLiveToken> for TokenStore {
    type Result = ResponseFuture<Result<Option<LiveToken>, InfraError>>;

    fn handle(&mut self, msg: FindLiveToken, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(super::observed::timed(
            "select",
            "one_time_tokens",
            async move {
                let row: Option<(Uuid, Uuid)> = sqlx::query_as(
                    "SELECT t.id, t.user_id FROM one_time_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = $1 AND t.purpose = $2 AND u.is_active
                   AND t.used_at IS NULL AND t.superseded_at IS NULL AND t.expires_at > now()",
                )
                .bind(&msg.token_hash)
                .bind(msg.purpose.as_str())
                .fetch_optional(&pool)
                .await
                .map_err(|e| InfraError::new("one-time tokens", e))?;
                Ok(row.map(|(id, user_id)| LiveToken {
                    id,
                    user_id: UserId::from_uuid(user_id),
                }))
            },
        ))
    }
}

::actors::instrument!(TokenStore: FindLiveToken);
