//! Message templates, kept in the repository (`templates/email/`) and compiled in. A `.txt`
//! template's first line is the subject, then a blank line, then the plain-text body; the `.html`
//! twin is the HTML body. `{{name}}` placeholders are replaced (HTML-escaped in the HTML body).

/// A rendered message, ready for a mailer. `Debug` leaves the bodies out: they may carry a
/// one-time link, which must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Welcome,
    PasswordReset,
    VerifyEmail,
    /// To the new address of an email change: the link that proves it.
    EmailChangeConfirm,
    /// To the old address: a change was asked for, with the link that undoes it.
    EmailChangeNotice,
}

impl Template {
    fn sources(self) -> (&'static str, &'static str) {
        match self {
            Template::Welcome => (
                include_str!("../../templates/email/welcome.txt"),
                include_str!("../../templates/email/welcome.html"),
            ),
            Template::PasswordReset => (
                include_str!("../../templates/email/password_reset.txt"),
                include_str!("../../templates/email/password_reset.html"),
            ),
            Template::VerifyEmail => (
                include_str!("../../templates/email/verify_email.txt"),
                include_str!("../../templates/email/verify_email.html"),
            ),
            Template::EmailChangeConfirm => (
                include_str!("../../templates/email/email_change_confirm.txt"),
                include_str!("../../templates/email/email_change_confirm.html"),
            ),
            Template::EmailChangeNotice => (
                include_str!("../../templates/email/email_change_notice.txt"),
                include_str!("../../templates/email/email_change_notice.html"),
            ),
        }
    }

    pub fn render(self, values: &[(&str, &str)]) -> Rendered {
        let (text, html) = self.sources();
        let (subject, body) = text.split_once("\n\n").unwrap_or((text, ""));
        Rendered {
            subject: fill(subject.trim(), values, |v| v.to_owned()),
            text: fill(body, values, |v| v.to_owned()),
            html: fill(html, values, escape_html),
        }
    }
}

fn fill(template: &str, values: &[(&str, &str)], encode: impl Fn(&str) -> String) -> String {
    values
        .iter()
        .fold(template.to_owned(), |out, (name, value)| {
            out.replace(&format!("{{{{{name}}}}}"), &encode(value))
        })
}

fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_and_html_is_escaped() {
        let r = Template::PasswordReset.render(&[
            ("username", "<ada>"),
            ("link", "https://x/reset-password?token=abc"),
            ("minutes", "30"),
        ]);
        assert_eq!(r.subject, "Reset your hexactor password");
        assert!(r.text.contains("Hello <ada>,"));
        assert!(r.html.contains("Hello &lt;ada&gt;,"));
        assert!(r.text.contains("https://x/reset-password?token=abc"));
        assert!(
            r.html
                .contains(r#"href="https://x/reset-password?token=abc""#)
        );
        for t in [
            Template::Welcome,
            Template::PasswordReset,
            Template::VerifyEmail,
            Template::EmailChangeConfirm,
            Template::EmailChangeNotice,
        ] {
            let r = t.render(&[
                ("username", "u"),
                ("link", "l"),
                ("minutes", "1"),
                ("days", "7"),
            ]);
            assert!(!format!("{}{}{}", r.subject, r.text, r.html).contains("{{"));
            assert!(!format!("{r:?}").contains("Hello"));
        }
    }
}
