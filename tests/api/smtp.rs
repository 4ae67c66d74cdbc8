//! The API tests' way to an app whose mail goes to a real SMTP listener (`support::smtp`).

pub use crate::support::smtp::*;

/// The app (API and worker in one process) mailing through a fresh SMTP listener.
pub async fn spawn_with_mail(
    overrides: &[(&str, &str)],
) -> (
    crate::helpers::TestApp,
    SmtpServer,
    crate::helpers::Namespace,
) {
    let smtp = SmtpServer::start().await;
    let ns = crate::helpers::Namespace::new().await;
    let url = smtp.url();
    let mut all = vec![
        ("SMTP_URL", url.as_str()),
        ("PUBLIC_BASE_URL", "https://id.example.test"),
        ("MAIL_FROM", "hexactor <no-reply@example.test>"),
    ];
    all.extend_from_slice(overrides);
    let app = crate::helpers::spawn_role(&ns, hexactor::startup::ProcessRole::All, &all).await;
    (app, smtp, ns)
}
