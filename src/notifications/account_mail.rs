//! Account mail: the password-reset, email-verification and email-change messages, from the
//! events `PasswordResetRequested`, `EmailVerificationRequested` and `EmailChangeRequested`
//! (queue `<prefix>.notifications.account-mail`; the last one's two messages are in
//! `email_change_mail.rs`).
//!
//! The events name the token's id, never the token: the sender derives the token from that id
//! with the server key (`application::one_time_token`), exactly as the worker did when it stored
//! the token's hash, and the token exists only in the message. A redelivered event is found in
//! the `notifications` table (by event id) and sends nothing.

use super::email_change_mail::{self, SendEmailChangeMail};
use super::handler::{decode_as, settle};
use super::mailer::SendMail;
use super::sender::{Record, send_once};
use super::templates::Template;
use super::welcome::{Delivered, NotificationError};
use crate::application::one_time_token::{TokenKey, TokenPurpose};
use crate::domain::EventKind;
use ::actors::Port;
use ::actors::rabbit::{Disposition, HandleDelivery};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

/// The events this context's account-mail queue is bound to.
pub const EVENTS: [EventKind; 3] = [
    EventKind::PasswordResetRequested,
    EventKind::EmailVerificationRequested,
    EventKind::EmailChangeRequested,
];

/// A reset or verification request, as this context reads it.
#[derive(Debug, Clone, Deserialize, Message)]
#[rtype(result = "Result<Delivered, NotificationError>")]
pub struct SendAccountMail {
    #[serde(rename = "type")]
    pub kind: String,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub request_id: Uuid,
    pub email: String,
    pub username: String,
    pub expires_at: DateTime<Utc>,
}

pub struct AccountMailHandler {
    sender: Port<SendAccountMail>,
    email_change: Port<SendEmailChangeMail>,
}

impl AccountMailHandler {
    pub fn new(sender: Port<SendAccountMail>, email_change: Port<SendEmailChangeMail>) -> Self {
        Self {
            sender,
            email_change,
        }
    }
}

/// Just the `"type"` of an event, to pick how to read the rest.
#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: String,
}

impl Actor for AccountMailHandler {
    type Context = Context<Self>;
}

impl Supervised for AccountMailHandler {}

impl Handler<HandleDelivery> for AccountMailHandler {
    type Result = ResponseFuture<Disposition>;

    fn handle(&mut self, msg: HandleDelivery, _: &mut Context<Self>) -> Self::Result {
        let (sender, email_change) = (self.sender.clone(), self.email_change.clone());
        Box::pin(async move {
            let change = EventKind::EmailChangeRequested;
            let kind = serde_json::from_slice::<TypeOnly>(&msg.0.payload).map(|t| t.kind);
            if kind.is_ok_and(|k| k == change.declaration().kind) {
                return match decode_as::<SendEmailChangeMail>(&msg.0.payload, &[change]) {
                    Ok(event) => settle(email_change.ask(event).await),
                    Err(disposition) => {
                        tracing::warn!(?disposition, "dead-lettering an undecodable event");
                        disposition
                    }
                };
            }
            let event: SendAccountMail = match decode_as(&msg.0.payload, &EVENTS[..2]) {
                Ok(event) => event,
                Err(disposition) => {
                    tracing::warn!(?disposition, "dead-lettering an undecodable event");
                    return disposition;
                }
            };
            settle(sender.ask(event).await)
        })
    }
}

pub struct AccountMailSender {
    pool: PgPool,
    mailer: Port<SendMail>,
    key: TokenKey,
    public_base_url: String,
}

impl AccountMailSender {
    pub fn new(
        pool: PgPool,
        mailer: Port<SendMail>,
        key: TokenKey,
        public_base_url: String,
    ) -> Self {
        Self {
            pool,
            mailer,
            key,
            public_base_url,
        }
    }
}

impl Actor for AccountMailSender {
    type Context = Context<Self>;
}

impl Supervised for AccountMailSender {}

impl Handler<SendAccountMail> for AccountMailSender {
    type Result = ResponseFuture<Result<Delivered, NotificationError>>;

    fn handle(&mut self, msg: SendAccountMail, _: &mut Context<Self>) -> Self::Result {
        let (pool, mailer, key) = (self.pool.clone(), self.mailer.clone(), self.key.clone());
        let base = self.public_base_url.clone();
        Box::pin(async move {
            let reset = EventKind::PasswordResetRequested.declaration().kind;
            let (purpose, template, page, kind) = match msg.kind.as_str() {
                kind if kind == reset => (
                    TokenPurpose::PasswordReset,
                    Template::PasswordReset,
                    "reset-password",
                    "password_reset",
                ),
                _ => (
                    TokenPurpose::EmailVerification,
                    Template::VerifyEmail,
                    "verify-email",
                    "email_verification",
                ),
            };
            let record = Record {
                event_id: msg.event_id,
                user_id: msg.user_id,
                email: &msg.email,
                kind,
            };
            send_once(&pool, &mailer, record, || {
                let token = key.token(purpose, msg.request_id);
                let link = format!("{base}/{page}?token={token}");
                let minutes = ((msg.expires_at - Utc::now()).num_seconds().max(0) / 60).to_string();
                template.render(&[
                    ("username", &msg.username),
                    ("link", &link),
                    ("minutes", &minutes),
                ])
            })
            .await
        })
    }
}

impl Handler<SendEmailChangeMail> for AccountMailSender {
    type Result = ResponseFuture<Result<Delivered, NotificationError>>;

    fn handle(&mut self, msg: SendEmailChangeMail, _: &mut Context<Self>) -> Self::Result {
        let (pool, mailer, key) = (self.pool.clone(), self.mailer.clone(), self.key.clone());
        let base = self.public_base_url.clone();
        Box::pin(email_change_mail::send(pool, mailer, key, base, msg))
    }
}

::actors::instrument!(AccountMailHandler: HandleDelivery);
::actors::instrument!(AccountMailSender: SendAccountMail, SendEmailChangeMail);
