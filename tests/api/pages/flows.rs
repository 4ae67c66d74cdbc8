//! A person's flows through the pages, in headless Chromium; axe-core on every page met.

use super::browser::Browser;
use super::spawn_pages_app;
use crate::helpers::*;
use hexactor::domain::totp;

const VERIFY_SUBJECT: &str = "Confirm your email address";
const RESET_SUBJECT: &str = "Reset your hexactor password";

fn code(secret_base32: &str) -> String {
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_base32.as_bytes())
        .expect("base32");
    let step = totp::step_at(chrono::Utc::now().timestamp());
    format!("{:06}", totp::hotp(&secret, step as u64, 6))
}

async fn sign_in(b: &Browser, email: &str, password: &str) {
    b.go("/login").await;
    b.fill("Email", email).await;
    b.fill("Password", password).await;
    b.press("Sign in").await;
}

#[actix_web::test]
async fn a_person_signs_up_verifies_signs_in_and_signs_in_again_with_a_code() {
    let (app, smtp, _ns, base) = spawn_pages_app(&[]).await;
    let b = Browser::open(&base).await;
    let email = "ada@example.com";

    b.go("/").await;
    assert_eq!(
        b.path().await,
        "/login",
        "the start page sends a visitor to sign in"
    );
    b.check_page("sign-in").await;
    b.follow("Create an account").await;
    b.check_page("sign-up").await;
    // A weak password is refused next to its field, the other fields kept.
    b.fill("Email", email).await;
    b.fill("Username", "ada_l").await;
    b.fill("First name", "Ada").await;
    b.fill("Last name", "Lovelace").await;
    b.fill("Password", "password").await;
    b.press("Create account").await;
    assert!(
        b.text_of("#password-error").await.contains("assword"),
        "{}",
        b.text().await
    );
    b.check_page("sign-up-error").await;
    b.fill("Password", PASSWORD).await;
    b.press("Create account").await;
    assert!(
        b.text()
            .await
            .contains("We sent a message to ada@example.com"),
        "{}",
        b.text().await
    );
    b.check_page("registered").await;

    // The link in the mail the SMTP listener received, as the person clicks it.
    let link = smtp.wait_for(email, VERIFY_SUBJECT, 1).await[0].link("verify-email");
    assert!(link.starts_with(&base), "{link}");
    b.go(&link).await;
    b.check_page("verify-email").await;
    let unverified =
        "SELECT count(*) FROM users WHERE email = 'ada@example.com' AND email_verified";
    assert_eq!(
        app.count(unverified).await,
        0,
        "opening the link spends nothing"
    );
    b.press("Verify my email").await;
    assert!(
        b.text().await.contains("your email address is verified"),
        "{}",
        b.text().await
    );
    assert_eq!(app.count(unverified).await, 1);
    b.check_page("email-verified").await;

    sign_in(&b, email, "not the password").await;
    assert!(
        b.text()
            .await
            .contains("The email, password or code is not right.")
    );
    sign_in(&b, email, PASSWORD).await;
    assert_eq!(b.path().await, "/account");
    assert!(
        b.text().await.contains("ada@example.com (verified)"),
        "{}",
        b.text().await
    );
    b.check_page("account").await;

    // Two-factor authentication from the page's secret.
    b.press("Set up two-factor authentication").await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css(".qr svg[role=img]"))
            .await
            .is_ok(),
        "a QR code"
    );
    b.check_page("two-factor-setup").await;
    let secret = b.text_of("#totp-secret").await;
    b.fill("Code", &code(&secret)).await;
    b.press("Turn on").await;
    let codes = b.text_of("ul.codes").await;
    assert_eq!(
        codes.lines().count(),
        10,
        "ten recovery codes, shown once: {codes}"
    );
    assert!(b.text().await.contains("Two-factor authentication is on."));
    b.check_page("two-factor-codes").await;

    b.press("Sign out").await;
    assert_eq!(b.path().await, "/login?done=signed-out");
    sign_in(&b, email, PASSWORD).await;
    b.check_page("sign-in-code").await;
    let recovery = codes
        .lines()
        .next()
        .expect("a recovery code")
        .trim()
        .to_owned();
    b.fill("Code", &recovery).await;
    b.press("Verify").await;
    assert_eq!(b.path().await, "/account", "{}", b.text().await);
    let live = "SELECT count(*) FROM auth_sessions WHERE revoked_at IS NULL";
    assert_eq!(
        app.count(live).await,
        1,
        "the signed-out session ended, this one is live"
    );
}

#[actix_web::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link() {
    let (app, smtp, _ns, base) = spawn_pages_app(&[]).await;
    let (user, _) = app.user("1").await;
    let email = user["email"].as_str().unwrap().to_owned();
    let b = Browser::open(&base).await;

    b.go("/login").await;
    b.follow("Forgot your password?").await;
    b.check_page("forgot-password").await;
    b.fill("Email", "nobody@example.com").await;
    b.press("Send reset link").await;
    let unknown = b.text().await;
    b.fill("Email", &email).await;
    b.press("Send reset link").await;
    assert_eq!(b.text().await, unknown, "the same answer for every address");
    b.check_page("forgot-password-sent").await;

    let link = smtp.wait_for(&email, RESET_SUBJECT, 1).await[0].link("reset-password");
    b.go(&link).await;
    b.check_page("reset-password").await;
    b.fill("New password", "a brand new passphrase 77").await;
    b.press("Set new password").await;
    assert_eq!(b.path().await, "/login?done=reset");
    assert!(b.text().await.contains("Your password has been changed."));
    sign_in(&b, &email, "a brand new passphrase 77").await;
    assert_eq!(b.path().await, "/account");

    b.go(&link).await;
    b.fill("New password", "yet another passphrase 88").await;
    b.press("Set new password").await;
    assert!(
        b.text().await.contains("This link does not work"),
        "a spent link: {}",
        b.text().await
    );
    b.check_page("link-does-not-work").await;
}

#[actix_web::test]
async fn a_session_revoked_elsewhere_is_refused_and_keyboard_alone_signs_in() {
    let (app, _smtp, _ns, base) = spawn_pages_app(&[]).await;
    let (user, token) = app.user("2").await;
    let email = user["email"].as_str().unwrap().to_owned();
    let b = Browser::open(&base).await;

    // Keyboard only: Tab to the first field, type, Tab, type, Enter.
    b.go("/login").await;
    let active = async || {
        b.client
            .active_element()
            .await
            .expect("focus")
            .attr("id")
            .await
            .expect("id")
    };
    for _ in 0..6 {
        if active().await.as_deref() == Some("email") {
            break;
        }
        b.client
            .active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
    }
    assert_eq!(
        active().await.as_deref(),
        Some("email"),
        "Tab reaches the email field"
    );
    let focused = b.client.active_element().await.unwrap();
    focused.send_keys(&email).await.unwrap();
    focused.send_keys("\u{E004}").await.unwrap();
    let focused = b.client.active_element().await.unwrap();
    focused.send_keys(PASSWORD).await.unwrap();
    let page = b
        .client
        .find(fantoccini::Locator::Css("html"))
        .await
        .unwrap();
    focused.send_keys("\u{E007}").await.unwrap();
    b.wait_for_next_page(page).await;
    assert_eq!(
        b.path().await,
        "/account",
        "Enter submits: {}",
        b.text().await
    );

    // The browser's session is listed by the API and ended from there.
    let sessions = app
        .send_as("GET", "/api/v1/users/me/sessions", &token, None, &[])
        .await
        .json();
    let browser_session = sessions["items"]
        .as_array()
        .or(sessions.as_array())
        .expect("a list")
        .iter()
        .find(|s| {
            s["user_agent"]
                .as_str()
                .is_some_and(|a| a.contains("Chrome"))
        })
        .unwrap_or_else(|| panic!("the browser's session is listed: {sessions}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = app
        .send_as(
            "DELETE",
            &format!("/api/v1/users/me/sessions/{browser_session}"),
            &token,
            None,
            &[],
        )
        .await;
    assert_eq!(ended.status, 204);
    b.go("/account").await;
    assert_eq!(
        b.path().await,
        "/login?next=/account",
        "a revoked session is refused at once"
    );
}

#[actix_web::test]
async fn an_admin_finds_promotes_reminds_and_deactivates_a_user() {
    // A resend right after registration's mail is not throttled here.
    let (app, smtp, _ns, base) =
        spawn_pages_app(&[("ACCOUNT_MAIL_MIN_INTERVAL_SECONDS", "0")]).await;
    let admin = app.admin().await;
    let grants = ["authorization_code", "refresh_token"];
    crate::oauth2::client(&app, &admin, crate::oauth2::web_app(&base, false, &grants)).await;
    let (user, _) = app.user("3").await;
    app.user("4").await;
    let email = user["email"].as_str().unwrap().to_owned();
    let b = Browser::open(&base).await;

    sign_in(&b, "root@example.com", ADMIN_PASSWORD).await;
    b.follow("Admin").await;
    b.check_page("admin-users").await;
    b.fill("Search by email or username", "user_3").await;
    b.press("Search").await;
    let listed = b.text().await;
    assert!(
        listed.contains(&email) && !listed.contains("user4@"),
        "{listed}"
    );
    b.follow(&email).await;
    b.check_page("admin-user").await;
    b.press("Make admin").await;
    assert!(b.text().await.contains("The role is changed."));
    let admins = "SELECT count(*) FROM users WHERE username = 'user_3' AND role = 'admin'";
    assert_eq!(app.count(admins).await, 1);
    b.press("Make user").await;
    assert_eq!(app.count(admins).await, 0);
    b.press("Resend verification email").await;
    assert!(
        b.text()
            .await
            .contains("A new verification link is on its way"),
        "{}",
        b.text().await
    );
    smtp.wait_for(&email, VERIFY_SUBJECT, 2).await;
    // The latest commands, newest first: what the admin just did, then the registration.
    let history = b.text_of("#commands-heading + table tbody").await;
    let kinds: Vec<&str> = history
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "RequestEmailVerification",
            "ChangeRole",
            "ChangeRole",
            "RegisterUser"
        ],
        "{history}"
    );
    b.press("Deactivate").await;
    assert!(
        b.text().await.contains("The account is deactivated"),
        "{}",
        b.text().await
    );
    let inactive = "SELECT count(*) FROM users WHERE username = 'user_3' AND NOT is_active";
    assert_eq!(app.count(inactive).await, 1);

    // The registered OAuth clients, listed for admins.
    b.go("/admin/clients").await;
    assert!(b.text().await.contains("Grafana"), "{}", b.text().await);
    b.check_page("admin-clients").await;
}
