//! The mailer: sends a rendered message over SMTP (lettre, TLS through rustls), or — in
//! development without `SMTP_URL` — logs it, link included, so a newcomer can follow a flow.
//! Every send opens its own connection: mail volume is low, and a stale pooled connection after
//! a relay restart would cost a retry.

use super::templates::Rendered;
use super::welcome::NotificationError;
use crate::config::account_mail::AccountMailSettings;
use actix::prelude::*;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message as Email, Tokio1Executor};
use std::time::Duration;

/// The port: "send this message to this address".
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), NotificationError>")]
pub struct SendMail {
    pub to: String,
    pub message: Rendered,
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("MAIL_FROM is not a valid mailbox: {0}")]
    From(#[source] lettre::address::AddressError),
    #[error("SMTP_URL: {0}")]
    Url(#[source] lettre::transport::smtp::Error),
}

pub struct Mailer {
    from: Mailbox,
    /// `None`: development without `SMTP_URL`, messages are logged.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Mailer {
    pub fn new(settings: &AccountMailSettings) -> Result<Self, MailerError> {
        let from = settings.mail_from.parse().map_err(MailerError::From)?;
        let transport = settings
            .smtp_url
            .as_ref()
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map(|b| b.timeout(Some(Duration::from_secs(10))).build())
            })
            .transpose()
            .map_err(MailerError::Url)?;
        Ok(Self { from, transport })
    }
}

impl Actor for Mailer {
    type Context = Context<Self>;
}

impl Supervised for Mailer {}

fn failed(what: &str, e: impl std::fmt::Display) -> NotificationError {
    NotificationError(format!("{what}: {e}"))
}

impl Handler<SendMail> for Mailer {
    type Result = ResponseFuture<Result<(), NotificationError>>;

    fn handle(&mut self, msg: SendMail, _: &mut Context<Self>) -> Self::Result {
        let (from, transport) = (self.from.clone(), self.transport.clone());
        Box::pin(async move {
            let Some(transport) = transport else {
                tracing::info!(
                    to = %msg.to,
                    subject = %msg.message.subject,
                    body = %msg.message.text,
                    "SMTP_URL is not set: logging the message instead of sending it (development only)"
                );
                return Ok(());
            };
            let to: Mailbox = msg.to.parse().map_err(|e| failed("recipient", e))?;
            let email = Email::builder()
                .from(from)
                .to(to)
                .subject(msg.message.subject.clone())
                .multipart(MultiPart::alternative_plain_html(
                    msg.message.text,
                    msg.message.html,
                ))
                .map_err(|e| failed("building the message", e))?;
            transport.send(email).await.map_err(|e| failed("SMTP", e))?;
            tracing::info!(subject = %msg.message.subject, "mail sent");
            Ok(())
        })
    }
}

::actors::instrument!(Mailer: SendMail);

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: Option<&str>, from: &str) -> AccountMailSettings {
        let s = crate::config::Settings::from_lookup(|_| None).unwrap();
        AccountMailSettings {
            smtp_url: url.map(crate::config::Secret::new),
            mail_from: from.to_owned(),
            ..s.account_mail
        }
    }

    #[test]
    fn every_documented_smtp_url_form_builds_a_transport() {
        // Implicit TLS and STARTTLS need the rustls feature compiled in; plain needs nothing.
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:pass@mail.example.com:587?tls=required",
            "smtps://user:pass@mail.example.com:465",
        ] {
            let mailer = Mailer::new(&settings(Some(url), "hexactor <no-reply@example.com>"));
            assert!(mailer.is_ok_and(|m| m.transport.is_some()), "{url}");
        }
        assert!(Mailer::new(&settings(None, "a@example.com")).is_ok_and(|m| m.transport.is_none()));
        assert!(matches!(
            Mailer::new(&settings(None, "not a mailbox @")),
            Err(MailerError::From(_))
        ));
        assert!(matches!(
            Mailer::new(&settings(Some("smtp://[bad"), "a@example.com")),
            Err(MailerError::Url(_))
        ));
    }
}
