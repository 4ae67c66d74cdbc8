//! The notifications bounded context: mails every new user a welcome, and mails the one-time
//! links of password recovery, email verification and email change.
//!
//! What it knows of users is the public event contract (JSON on the event exchange), read into
//! its own types. Each kind of mail has its own durable queue bound to the event exchange (with
//! a DLQ and the retry tiers); every message is recorded in the context's own table. The one
//! piece it shares with the users context is the one-time-token derivation
//! (`application::one_time_token`): the token is recomputed here from the id in the event, so
//! it never travels.
//!
//! Delivery is at least once (the outbox may publish an event twice, a worker may die before
//! its ack), so the senders are idempotent by event id: a message is recorded and sent once
//! (the row commits only after the mail server accepted the message).
//!
//! ```text
//! <prefix>.events --users.user.created--> <prefix>.notifications.user-created
//!     --> QueueConsumer --HandleDelivery--> UserCreatedHandler --SendWelcome--> RecordingWelcomeSender
//! <prefix>.events --users.user.{password-reset,email-verification,email-change}-requested-->
//!     <prefix>.notifications.account-mail --> QueueConsumer --> AccountMailHandler
//!     --SendAccountMail | SendEmailChangeMail--> AccountMailSender
//! every sender --SendMail--> Mailer (SMTP through lettre; logged when SMTP_URL is unset)
//! ```

pub mod account_mail;
pub mod email_change_mail;
pub mod handler;
pub mod mailer;
pub mod sender;
pub mod templates;
pub mod topology;
pub mod welcome;

use crate::application::one_time_token::TokenKey;
use crate::config::account_mail::AccountMailSettings;
use crate::infrastructure::messaging::names::Names;
use ::actors::rabbit::{
    Breaker, ConnectionManager, ConsumerConfig, HandleDelivery, ProbeReady, Publisher,
    QueueConsumer, RetryRoute, WorkQueue,
};
use ::actors::{ActorRef, Port, Restart, SupervisorRef};
use actix::ArbiterHandle;
use sqlx::PgPool;
use std::time::Duration;

/// What the notifications context needs from the process it runs in.
pub struct Wiring<'a> {
    pub supervisor: &'a SupervisorRef,
    pub io: &'a ArbiterHandle,
    pub amqp: &'a ArbiterHandle,
    pub pool: PgPool,
    pub names: &'a Names,
    pub retry_tiers: &'a [Duration],
    pub max_attempts: u32,
    pub prefetch: u16,
    /// See `MessagingSettings::renew_when_idle`.
    pub renew_when_idle: Option<Duration>,
    pub manager: ActorRef<ConnectionManager>,
    pub publisher: ActorRef<Publisher>,
    /// Answers whether the database is usable (the consumer's circuit breaker).
    pub database_probe: Port<ProbeReady>,
    pub mail: &'a AccountMailSettings,
    /// Derives one-time tokens from the ids in events (never carried by them).
    pub tokens: TokenKey,
}

/// Starts the mailer, the senders, the handlers and their queue consumers under `supervisor`;
/// returns the consumers (for graceful shutdown).
pub fn start(w: Wiring<'_>) -> Result<Vec<ActorRef<QueueConsumer>>, mailer::MailerError> {
    // Checked here, once, so that a bad MAIL_FROM or SMTP_URL stops the process at start-up.
    mailer::Mailer::new(w.mail)?;
    let mailer = {
        let settings = w.mail.clone();
        w.supervisor
            .spawn("mailer", w.io, Restart::Permanent, move || {
                mailer::Mailer::new(&settings).expect("checked at start-up")
            })
            .port()
    };
    let welcome = {
        let (pool, mailer) = (w.pool.clone(), mailer.clone());
        let sender = w
            .supervisor
            .spawn("welcome-sender", w.io, Restart::Permanent, move || {
                sender::RecordingWelcomeSender::new(pool, mailer)
            })
            .port();
        w.supervisor
            .spawn(
                "user-created-handler",
                w.io,
                Restart::Permanent,
                move || handler::UserCreatedHandler::new(sender),
            )
            .port()
    };
    let account = {
        let (pool, key, base) = (
            w.pool.clone(),
            w.tokens.clone(),
            w.mail.public_base_url.clone(),
        );
        let sender =
            w.supervisor
                .spawn("account-mail-sender", w.io, Restart::Permanent, move || {
                    account_mail::AccountMailSender::new(pool, mailer, key, base)
                });
        let (mail, email_change) = (sender.port(), sender.port());
        w.supervisor
            .spawn(
                "account-mail-handler",
                w.io,
                Restart::Permanent,
                move || account_mail::AccountMailHandler::new(mail, email_change),
            )
            .port()
    };
    let consumer = |name: &str, queue: &str, handler: Port<HandleDelivery>| {
        let config = ConsumerConfig {
            queue: queue.to_owned(),
            prefetch: w.prefetch,
            renew_when_idle: w.renew_when_idle,
            retry: Some(RetryRoute {
                work: WorkQueue::new(queue, w.retry_tiers),
                max_attempts: w.max_attempts,
            }),
        };
        let breaker = Breaker::new(w.database_probe.clone());
        let (manager, publisher) = (w.manager.clone(), w.publisher.clone());
        w.supervisor
            .spawn(name, w.amqp, Restart::Permanent, move || {
                QueueConsumer::new(manager, publisher, handler, config).with_breaker(breaker)
            })
    };
    Ok(vec![
        consumer(
            "notifications-consumer",
            &w.names.notifications_queue,
            welcome,
        ),
        consumer(
            "account-mail-consumer",
            &w.names.account_mail_queue,
            account,
        ),
    ])
}
