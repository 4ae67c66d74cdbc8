//! The welcome sender: records the welcome in the context's own table and mails it, in one
//! transaction. The primary key on the event id makes it idempotent: a redelivered event finds
//! its row and sends nothing; a failed send rolls the row back so that the retry sends it.

use super::mailer::SendMail;
use super::templates::{Rendered, Template};
use super::welcome::{Delivered, NotificationError, SendWelcome};
use ::actors::Port;
use actix::prelude::*;
use sqlx::PgPool;
use uuid::Uuid;

/// One row of the `notifications` table.
pub struct Record<'a> {
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub email: &'a str,
    pub kind: &'a str,
}

/// Records `record` and sends `message` once per event id. The row's transaction stays open
/// across the send: committed only once the mail server took the message (a crash in between
/// sends twice at worst, never zero times).
pub async fn send_once(
    pool: &PgPool,
    mailer: &Port<SendMail>,
    record: Record<'_>,
    message: impl FnOnce() -> Rendered,
) -> Result<Delivered, NotificationError> {
    let db = |e: sqlx::Error| NotificationError(format!("database: {e}"));
    let mut tx = pool.begin().await.map_err(db)?;
    let inserted = sqlx::query(
        "INSERT INTO notifications (event_id, user_id, email, kind) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(record.event_id)
    .bind(record.user_id)
    .bind(record.email)
    .bind(record.kind)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    if inserted == 0 {
        tracing::debug!(event_id = %record.event_id, kind = record.kind, "already sent for this event");
        return Ok(Delivered::AlreadySent);
    }
    let message = message();
    let subject = message.subject.clone();
    mailer
        .ask(SendMail {
            to: record.email.to_owned(),
            message,
        })
        .await
        .map_err(|e| NotificationError(format!("mailer unavailable: {e}")))??;
    tx.commit().await.map_err(db)?;
    tracing::info!(event_id = %record.event_id, user_id = %record.user_id, kind = record.kind, %subject, "notification sent");
    Ok(Delivered::Sent)
}

pub struct RecordingWelcomeSender {
    pool: PgPool,
    mailer: Port<SendMail>,
}

impl RecordingWelcomeSender {
    pub fn new(pool: PgPool, mailer: Port<SendMail>) -> Self {
        Self { pool, mailer }
    }
}

impl Actor for RecordingWelcomeSender {
    type Context = Context<Self>;
}

impl Supervised for RecordingWelcomeSender {}

impl Handler<SendWelcome> for RecordingWelcomeSender {
    type Result = ResponseFuture<Result<Delivered, NotificationError>>;

    fn handle(&mut self, msg: SendWelcome, _: &mut Context<Self>) -> Self::Result {
        let (pool, mailer) = (self.pool.clone(), self.mailer.clone());
        Box::pin(async move {
            let record = Record {
                event_id: msg.event_id,
                user_id: msg.user_id,
                email: &msg.email,
                kind: "welcome",
            };
            send_once(&pool, &mailer, record, || {
                Template::Welcome.render(&[("username", &msg.username)])
            })
            .await
        })
    }
}

::actors::instrument!(RecordingWelcomeSender: SendWelcome);
