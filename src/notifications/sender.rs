//! The welcome sender used today: it logs the welcome and records it in the context's own
//! table. The primary key on the event id makes it idempotent: a redelivered event inserts
//! nothing and logs nothing.

use super::welcome::{Delivered, NotificationError, SendWelcome, welcome_subject};
use actix::prelude::*;
use sqlx::PgPool;

pub struct RecordingWelcomeSender {
    pool: PgPool,
}

impl RecordingWelcomeSender {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl Actor for RecordingWelcomeSender {
    type Context = Context<Self>;
}

impl Supervised for RecordingWelcomeSender {}

impl Handler<SendWelcome> for RecordingWelcomeSender {
    type Result = ResponseFuture<Result<Delivered, NotificationError>>;

    fn handle(&mut self, msg: SendWelcome, _: &mut Context<Self>) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let inserted = sqlx::query(
                "INSERT INTO notifications (event_id, user_id, email, kind) VALUES ($1, $2, $3, 'welcome')
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(msg.event_id)
            .bind(msg.user_id)
            .bind(&msg.email)
            .execute(&pool)
            .await
            .map_err(|e| NotificationError(e.to_string()))?
            .rows_affected();
            if inserted == 0 {
                tracing::debug!(event_id = %msg.event_id, user_id = %msg.user_id, "welcome already sent for this event");
                return Ok(Delivered::AlreadySent);
            }
            tracing::info!(
                event_id = %msg.event_id,
                user_id = %msg.user_id,
                subject = %welcome_subject(&msg.username),
                "welcome sent"
            );
            Ok(Delivered::Sent)
        })
    }
}

::actors::instrument!(RecordingWelcomeSender: SendWelcome);
