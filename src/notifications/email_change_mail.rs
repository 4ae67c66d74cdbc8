//! The two messages of an email change, from `EmailChangeRequested`: the link that proves the
//! new address (to that address, unless another account uses it: then the event names none) and
//! the notice with the undo link (to the old address, always — so the requester's old mailbox
//! cannot tell whether the new address is in use).
//!
//! Each message is recorded under its token's id rather than the event's, since one event makes
//! two: a redelivery finds both rows and sends nothing; a failure after the first sends only the
//! second on retry. The tokens are derived here from the ids, as for the other account mail.

use super::mailer::SendMail;
use super::sender::{Record, send_once};
use super::templates::Template;
use super::welcome::{Delivered, NotificationError};
use crate::application::one_time_token::{EMAIL_CHANGE_REVERT_TTL, TokenKey, TokenPurpose};
use ::actors::Port;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, Message)]
#[rtype(result = "Result<Delivered, NotificationError>")]
pub struct SendEmailChangeMail {
    pub user_id: Uuid,
    pub username: String,
    pub old_email: String,
    pub new_email: Option<String>,
    pub confirm_request_id: Option<Uuid>,
    pub confirm_expires_at: Option<DateTime<Utc>>,
    pub revert_request_id: Uuid,
}

fn minutes_until(at: DateTime<Utc>) -> String {
    ((at - Utc::now()).num_seconds().max(0) / 60).to_string()
}

/// Sends the event's messages (the account-mail sender's handler for `SendEmailChangeMail`).
pub async fn send(
    pool: PgPool,
    mailer: Port<SendMail>,
    key: TokenKey,
    base: String,
    msg: SendEmailChangeMail,
) -> Result<Delivered, NotificationError> {
    let confirm = match (
        &msg.new_email,
        msg.confirm_request_id,
        msg.confirm_expires_at,
    ) {
        (Some(new_email), Some(request_id), Some(expires_at)) => {
            let record = Record {
                event_id: request_id,
                user_id: msg.user_id,
                email: new_email,
                kind: "email_change",
            };
            send_once(&pool, &mailer, record, || {
                let token = key.token(TokenPurpose::EmailChange, request_id);
                let link = format!("{base}/confirm-email-change?token={token}");
                Template::EmailChangeConfirm.render(&[
                    ("username", &msg.username),
                    ("link", &link),
                    ("minutes", &minutes_until(expires_at)),
                ])
            })
            .await?
        }
        _ => Delivered::AlreadySent,
    };
    let record = Record {
        event_id: msg.revert_request_id,
        user_id: msg.user_id,
        email: &msg.old_email,
        kind: "email_change_notice",
    };
    let notice = send_once(&pool, &mailer, record, || {
        let token = key.token(TokenPurpose::EmailChangeRevert, msg.revert_request_id);
        let link = format!("{base}/revert-email-change?token={token}");
        let days = (EMAIL_CHANGE_REVERT_TTL.as_secs() / 86_400).to_string();
        Template::EmailChangeNotice.render(&[
            ("username", &msg.username),
            ("link", &link),
            ("days", &days),
        ])
    })
    .await?;
    Ok(match (confirm, notice) {
        (Delivered::AlreadySent, Delivered::AlreadySent) => Delivered::AlreadySent,
        _ => Delivered::Sent,
    })
}
