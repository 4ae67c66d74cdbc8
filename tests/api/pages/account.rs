//! The account page's forms in headless Chromium: profile, password, email change (the link to
//! the new address and the undo link to the old one, as mailed), deactivation, and a missing
//! page — axe-core on each.

use super::browser::Browser;
use super::spawn_pages_app;
use crate::helpers::*;

const CONFIRM_SUBJECT: &str = "Confirm the new email address of your hexactor account";
const NOTICE_SUBJECT: &str = "A change of your hexactor email address was requested";

async fn sign_in(b: &Browser, email: &str, password: &str) {
    b.go("/login").await;
    b.fill("Email", email).await;
    b.fill("Password", password).await;
    b.press("Sign in").await;
    assert_eq!(b.path().await, "/account", "{}", b.text().await);
}

#[actix_web::test]
async fn a_person_edits_the_profile_password_and_email_then_deactivates() {
    let (app, smtp, _ns, base) = spawn_pages_app(&[]).await;
    let (user, _) = app.user("5").await;
    let old = user["email"].as_str().unwrap().to_owned();
    assert_eq!(old, "user5@example.com", "the queries below name it");
    let new = "augusta@example.com";
    let new_password = "a fresher passphrase 42";
    let b = Browser::open(&base).await;
    sign_in(&b, &old, PASSWORD).await;

    b.fill("First name", "Augusta").await;
    b.press("Save").await;
    assert!(b.text().await.contains("Your profile is saved."));
    let renamed = "SELECT count(*) FROM users WHERE username = 'user_5' AND first_name = 'Augusta'";
    assert_eq!(app.count(renamed).await, 1);

    // A wrong current password comes back next to its field; the right one changes it.
    b.fill("Current password", "not my password").await;
    b.fill("New password", new_password).await;
    b.press("Change password").await;
    assert!(
        !b.text_of("#current_password-error").await.is_empty(),
        "{}",
        b.text().await
    );
    b.check_page("account-error").await;
    b.fill("Current password", PASSWORD).await;
    b.fill("New password", new_password).await;
    b.press("Change password").await;
    assert!(
        b.text().await.contains("Your password is changed."),
        "{}",
        b.text().await
    );

    // The email change: nothing changes until the link to the new address is followed.
    b.fill("New email", new).await;
    b.fill("Password", new_password).await;
    b.press("Change email").await;
    assert!(
        b.text()
            .await
            .contains("Check the inbox of the new address")
    );
    let at_old = "SELECT count(*) FROM users WHERE email = 'user5@example.com'";
    let at_new = "SELECT count(*) FROM users WHERE email = 'augusta@example.com'";
    assert_eq!(app.count(at_old).await, 1);
    let confirm = smtp.wait_for(new, CONFIRM_SUBJECT, 1).await[0].link("confirm-email-change");
    b.go(&confirm).await;
    b.check_page("confirm-email-change").await;
    b.press("Confirm new email").await;
    assert!(
        b.text().await.contains("Your account uses the new address"),
        "{}",
        b.text().await
    );
    assert_eq!(app.count(at_new).await, 1);

    // The old address's undo link puts it back and ends every session, this browser's too.
    let revert = smtp.wait_for(&old, NOTICE_SUBJECT, 1).await[0].link("revert-email-change");
    b.go(&revert).await;
    b.check_page("revert-email-change").await;
    b.press("Undo the change").await;
    assert_eq!(b.path().await, "/login?done=reverted", "{}", b.text().await);
    assert_eq!(app.count(at_old).await, 1);
    b.go("/account").await;
    assert_eq!(b.path().await, "/login?next=/account", "signed out");

    sign_in(&b, &old, new_password).await;
    b.press("Deactivate account").await;
    assert!(
        b.text_of("#confirm-error").await.contains("Tick the box"),
        "{}",
        b.text().await
    );
    b.client
        .find(fantoccini::Locator::Id("confirm"))
        .await
        .expect("the confirmation box")
        .click()
        .await
        .expect("ticked");
    b.press("Deactivate account").await;
    assert_eq!(b.path().await, "/login?done=deactivated");
    let inactive = "SELECT count(*) FROM users WHERE username = 'user_5' AND NOT is_active";
    assert_eq!(app.count(inactive).await, 1);

    b.go("/no/such/page").await;
    assert!(b.text().await.contains("There is no page at this address."));
    b.check_page("not-found").await;
}
