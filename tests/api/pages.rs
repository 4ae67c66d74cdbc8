//! The pages for people, in a real browser (headless Chromium through WebDriver) against the
//! real stack, mails taken from the SMTP listener; and the guards (CSRF, origin, headers, the
//! admin console's 404, https) checked over plain HTTP.

mod account;
pub(crate) mod browser;
mod flows;
pub(crate) mod guards;

use crate::helpers::{Namespace, TestApp};
use crate::support::smtp::SmtpServer;

/// The app on `http://localhost:<port>` with PUBLIC_BASE_URL pointing at it, so that the links
/// in its mails open its pages and its forms accept their own origin.
pub async fn spawn_pages_app(
    overrides: &[(&str, &str)],
) -> (TestApp, SmtpServer, Namespace, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let base = format!("http://localhost:{port}");
    let mut all = vec![("PORT", port.as_str()), ("PUBLIC_BASE_URL", base.as_str())];
    all.extend_from_slice(overrides);
    let (app, smtp, ns) = crate::smtp::spawn_with_mail(&all).await;
    (app, smtp, ns, base)
}
