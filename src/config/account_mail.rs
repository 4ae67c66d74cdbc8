//! Configuration of email delivery, password recovery and email verification.

use super::{ConfigError, Env, Secret, err};
use crate::variables as var;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct AccountMailSettings {
    /// lettre's `from_url` forms: `smtp://host:port` (plain, a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`.
    /// `None` (development only): messages are logged instead of sent.
    pub smtp_url: Option<Secret>,
    pub mail_from: lettre::message::Mailbox,
    /// Where links in messages point (no trailing slash).
    pub public_base_url: String,
    pub password_reset_ttl: Duration,
    pub email_verification_ttl: Duration,
    /// How long the link that proves a new address (email change) works.
    pub email_change_ttl: Duration,
    /// At most one reset (or verification resend) mail per account and kind in this interval;
    /// requests within it are accepted (202) and silently dropped.
    pub mail_min_interval: Duration,
    /// Refuse logins (403) to accounts whose address is not verified.
    pub require_verified_email: bool,
}

impl AccountMailSettings {
    pub(super) fn read(env: &Env<'_>, production: bool) -> Result<Self, ConfigError> {
        let smtp_url = env.get(var::SMTP_URL);
        let smtp_url = if smtp_url.is_empty() {
            if production {
                return Err(err(
                    var::SMTP_URL.name,
                    "required in production (messages would only be logged)",
                ));
            }
            None
        } else if (smtp_url.starts_with("smtp://") || smtp_url.starts_with("smtps://"))
            && lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&smtp_url).is_ok()
        {
            Some(Secret::new(smtp_url))
        } else {
            // The value may hold a password: never echo it.
            return Err(err(
                var::SMTP_URL.name,
                "must be smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host:465",
            ));
        };
        let mail_from = env.get(var::MAIL_FROM).parse().map_err(|e| {
            err(
                var::MAIL_FROM.name,
                format!("not a mailbox ({e}), e.g. Name <a@example.com>"),
            )
        })?;
        let public_base_url = env
            .get(var::PUBLIC_BASE_URL)
            .trim_end_matches('/')
            .to_owned();
        if !public_base_url.starts_with("http://") && !public_base_url.starts_with("https://") {
            return Err(err(
                var::PUBLIC_BASE_URL.name,
                "must be an http:// or https:// URL",
            ));
        }
        Ok(Self {
            smtp_url,
            mail_from,
            public_base_url,
            password_reset_ttl: env.seconds(var::PASSWORD_RESET_TTL_SECONDS, 60, 86_400)?,
            email_verification_ttl: env.seconds(
                var::EMAIL_VERIFICATION_TTL_SECONDS,
                60,
                30 * 86_400,
            )?,
            email_change_ttl: env.seconds(var::EMAIL_CHANGE_TTL_SECONDS, 60, 30 * 86_400)?,
            mail_min_interval: env.seconds(var::ACCOUNT_MAIL_MIN_INTERVAL_SECONDS, 0, 86_400)?,
            require_verified_email: env.choice(
                var::REQUIRE_VERIFIED_EMAIL,
                &[
                    ("true", true),
                    ("1", true),
                    ("yes", true),
                    ("false", false),
                    ("0", false),
                    ("no", false),
                ],
                "true or false",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::settings;

    #[test]
    fn production_needs_smtp_and_urls_are_checked() {
        let prod = [
            ("ENVIRONMENT", "production"),
            ("SECRET_KEY", &"x".repeat(32)),
            (
                "DATA_ENCRYPTION_KEY",
                "cHJvZHVjdGlvbi1kYXRhLWtleS0zMi1ieXRlcy1vayE=",
            ),
        ];
        assert_eq!(settings(&prod).unwrap_err().variable, "SMTP_URL");
        let mut with_smtp = prod.to_vec();
        with_smtp.push(("SMTP_URL", "smtps://u:p@mail.example.com:465"));
        let s = settings(&with_smtp).unwrap();
        assert!(
            !format!("{s:?}").contains("u:p@"),
            "the SMTP URL is a secret"
        );
        assert!(settings(&[]).unwrap().account_mail.smtp_url.is_none());
        for bad in ["http://x", "smtp://u:p@[bad"] {
            let e = settings(&[("SMTP_URL", bad)]).unwrap_err();
            assert_eq!(e.variable, "SMTP_URL");
            assert!(!e.to_string().contains("u:p"), "{e}");
        }
        assert_eq!(
            settings(&[("MAIL_FROM", "not a mailbox @")])
                .unwrap_err()
                .variable,
            "MAIL_FROM"
        );
        assert_eq!(
            settings(&[("PUBLIC_BASE_URL", "example.com")])
                .unwrap_err()
                .variable,
            "PUBLIC_BASE_URL"
        );
        let s = settings(&[("PUBLIC_BASE_URL", "https://id.example.com/")]).unwrap();
        assert_eq!(s.account_mail.public_base_url, "https://id.example.com");
        assert_eq!(s.account_mail.password_reset_ttl.as_secs(), 1800);
    }
}
