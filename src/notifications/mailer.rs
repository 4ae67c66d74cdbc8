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

/// `SMTP_URL` was checked when the configuration was read; this is for a value made otherwise.
#[derive(Debug, thiserror::Error)]
#[error("SMTP_URL is not usable: {0}")]
pub struct MailerError(#[source] lettre::transport::smtp::Error);

pub struct Mailer {
    from: Mailbox,
    /// `None`: development without `SMTP_URL`, messages are logged.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Mailer {
    pub fn new(settings: &AccountMailSettings) -> Result<Self, MailerError> {
        let from = settings.mail_from.clone();
        let transport = settings
            .smtp_url
            .as_ref()
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map(|b| b.timeout(Some(Duration::from_secs(10))).build())
            })
            .transpose()
            .map_err(MailerError)?;
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

    fn settings(url: Option<&str>) -> AccountMailSettings {
        let s = crate::config::Settings::from_lookup(|_| None).unwrap();
        AccountMailSettings {
            smtp_url: url.map(crate::config::Secret::new),
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
            let mailer = Mailer::new(&settings(Some(url)));
            assert!(mailer.is_ok_and(|m| m.transport.is_some()), "{url}");
        }
        assert!(Mailer::new(&settings(None)).is_ok_and(|m| m.transport.is_none()));
        assert!(Mailer::new(&settings(Some("smtp://[bad"))).is_err());
    }
}
