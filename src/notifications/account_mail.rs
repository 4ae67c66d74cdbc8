//! Account mail: the password-reset and email-verification messages, from the events
//! `PasswordResetRequested` and `EmailVerificationRequested` (queue
//! `<prefix>.notifications.account-mail`).
//!
//! The events name the token's id, never the token: the sender derives the token from that id
//! with the server key (`application::one_time_token`), exactly as the worker did when it stored
//! the token's hash, and the token exists only in the message. A redelivered event is found in
//! the `notifications` table (by event id) and sends nothing.

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
pub const EVENTS: [EventKind; 2] = [
    EventKind::PasswordResetRequested,
    EventKind::EmailVerificationRequested,
];

/// Either event, as this context reads it.
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
}

impl AccountMailHandler {
    pub fn new(sender: Port<SendAccountMail>) -> Self {
        Self { sender }
    }
}

impl Actor for AccountMailHandler {
    type Context = Context<Self>;
}

impl Supervised for AccountMailHandler {}

impl Handler<HandleDelivery> for AccountMailHandler {
    type Result = ResponseFuture<Disposition>;

    fn handle(&mut self, msg: HandleDelivery, _: &mut Context<Self>) -> Self::Result {
        let sender = self.sender.clone();
        Box::pin(async move {
            let event: SendAccountMail = match decode_as(&msg.0.payload, &EVENTS) {
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

::actors::instrument!(AccountMailHandler: HandleDelivery);
::actors::instrument!(AccountMailSender: SendAccountMail);
