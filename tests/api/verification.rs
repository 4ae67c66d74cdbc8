//! Email verification against real PostgreSQL, RabbitMQ and an SMTP listener.

use crate::helpers::*;
use crate::smtp::spawn_with_mail;
use serde_json::json;

const VERIFY: &str = "/api/v1/auth/verify-email";
const SUBJECT: &str = "Confirm your email address";

async fn verify(app: &TestApp, token: &str) -> Reply {
    app.post_json(VERIFY, &json!({ "token": token }), &[]).await
}

#[actix_web::test]
async fn registration_mails_a_welcome_and_a_link_that_verifies_the_address() {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await;
    let (user, access) = app.user("verify").await;
    let email = user["email"].as_str().unwrap();
    assert_eq!(user["email_verified"], false);

    smtp.wait_for(email, "Welcome to hexactor, user_verify!", 1)
        .await;
    let mail = smtp.wait_for(email, SUBJECT, 1).await;
    assert!(
        mail[0].data.contains("multipart/alternative"),
        "plain text and HTML"
    );
    assert!(
        mail[0]
            .data
            .contains("From: hexactor <no-reply@example.test>")
    );
    let token = mail[0].token("verify-email");
    assert_eq!(
        app.get_as("/api/v1/users/me", &access).await.json()["email_verified"],
        false
    );

    // Any other token is refused, and leaves the flag alone.
    verify(&app, "bogus").await.problem(400);
    let res = verify(&app, &token).await;
    assert_eq!(res.status, 204, "{}", String::from_utf8_lossy(&res.body));
    let me = app.get_as("/api/v1/users/me", &access).await.json();
    assert_eq!(me["email_verified"], true);
    let id = me["id"].as_str().unwrap();
    let by_id = app
        .get_as(&format!("/api/v1/users/{id}"), &access)
        .await
        .json();
    assert_eq!(by_id["email_verified"], true);
    verify(&app, &token).await.problem(400); // single use
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE routing_key = 'users.user.email-verified'")
            .await,
        1
    );
}

#[actix_web::test]
async fn resend_mails_a_new_link_and_the_old_one_stops_working() {
    let (app, smtp, _ns) = spawn_with_mail(&[("ACCOUNT_MAIL_MIN_INTERVAL_SECONDS", "0")]).await;
    let (user, access) = app.user("resend").await;
    let email = user["email"].as_str().unwrap();
    let old = smtp.wait_for(email, SUBJECT, 1).await[0].token("verify-email");

    let res = app
        .send_as(
            "POST",
            "/api/v1/auth/verify-email/resend",
            &access,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, 202);
    assert!(
        res.header("location")
            .unwrap()
            .starts_with("/api/v1/commands/")
    );
    let new = smtp.wait_for(email, SUBJECT, 2).await[1].token("verify-email");
    assert_ne!(old, new);
    verify(&app, &old).await.problem(400);
    assert_eq!(verify(&app, &new).await.status, 204);
    // Verified: a resend is accepted and sends nothing.
    resend_and_wait(&app, &access).await;
    assert_eq!(
        app.count("SELECT count(*) FROM one_time_tokens").await,
        2,
        "no token for a verified address"
    );
    // Without a bearer token there is nothing to resend to.
    assert_eq!(
        app.request("POST", "/api/v1/auth/verify-email/resend", &[], None)
            .await
            .status,
        401
    );
}

/// Asks for a new link and waits for the worker to apply the command.
async fn resend_and_wait(app: &TestApp, access: &str) {
    let res = app
        .send_as(
            "POST",
            "/api/v1/auth/verify-email/resend",
            access,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, 202);
    let command = app.wait_for_command(&res.header("location").unwrap()).await;
    assert_eq!(command["status"], "succeeded", "{command}");
}

#[actix_web::test]
async fn resends_are_throttled_per_account_silently() {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await; // one per account per minute
    let (user, access) = app.user("resend_throttled").await;
    let email = user["email"].as_str().unwrap();
    smtp.wait_for(email, SUBJECT, 1).await;
    resend_and_wait(&app, &access).await;
    assert_eq!(
        app.count("SELECT count(*) FROM one_time_tokens").await,
        1,
        "the resend within a minute of the first link issued nothing"
    );
}

#[actix_web::test]
async fn with_require_verified_email_a_correct_login_to_an_unverified_account_is_403() {
    let (app, smtp, _ns) = spawn_with_mail(&[("REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let body = user_body("unverified");
    assert_eq!(app.register(&body, &[]).await.status, 201);
    let email = body["email"].as_str().unwrap();
    let login = |password: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/auth/login",
                &json!({ "email": email, "password": password }),
                &[],
            )
            .await
        }
    };
    // A wrong password learns nothing: the usual 401.
    login("not the right passphrase").await.problem(401);
    let refused = login(PASSWORD).await.problem(403);
    assert!(
        refused["type"]
            .as_str()
            .unwrap()
            .ends_with("/email-not-verified"),
        "{refused}"
    );
    assert!(refused.get("access_token").is_none());

    let token = smtp.wait_for(email, SUBJECT, 1).await[0].token("verify-email");
    assert_eq!(verify(&app, &token).await.status, 204);
    assert_eq!(login(PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn a_redelivered_verification_event_mails_nothing_twice() {
    let (app, smtp, ns) = spawn_with_mail(&[]).await;
    let (user, _) = app.user("redelivered").await;
    let email = user["email"].as_str().unwrap();
    let first = smtp.wait_for(email, SUBJECT, 1).await[0].token("verify-email");

    // The broker hands the same event over again (at-least-once), then a poison message.
    let event: Vec<u8> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE routing_key = 'users.user.email-verification-requested'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let queue = format!("{}.notifications.account-mail", ns.prefix);
    let conn = amqp().await;
    publish_raw(&conn, &queue, &event, Default::default()).await;
    publish_raw(
        &conn,
        &queue,
        br#"{"type":"UserCreated"}"#,
        lapin::BasicProperties::default().with_message_id("poison".into()),
    )
    .await;
    // The sender has handled the duplicate (the first delivery and this one: two answers).
    eventually(
        "the duplicate is handled",
        std::time::Duration::from_secs(10),
        async || {
            let metrics = app.metrics().await;
            metrics.contains(
                r#"actor_messages_total{actor="AccountMailSender",message="SendAccountMail",outcome="ok"} 2"#,
            )
        },
    )
    .await;
    // Another event type on this queue is poison: dead-lettered, not retried.
    let mut dead = None;
    eventually(
        "the poison is dead-lettered",
        std::time::Duration::from_secs(10),
        async || {
            dead = take_message(&conn, &dead_letter_queue(&queue)).await;
            dead.is_some()
        },
    )
    .await;
    let mails = smtp.to(email, SUBJECT);
    assert_eq!(mails.len(), 1, "the duplicate sent nothing");
    assert_eq!(mails[0].token("verify-email"), first);
    assert_eq!(
        app.count("SELECT count(*) FROM notifications WHERE kind = 'email_verification'")
            .await,
        1
    );
    let _ = conn.close(200, "done".into()).await;
}

#[actix_web::test]
async fn without_smtp_in_development_the_message_and_its_link_are_logged() {
    let app = spawn_app().await; // no SMTP_URL
    let (user, _) = app.user("logged").await;
    let email = user["email"].as_str().unwrap().to_owned();
    eventually(
        "the verification message is logged",
        std::time::Duration::from_secs(10),
        async || {
            // The body is logged as is (several lines, readable in a terminal).
            let logs = captured_logs();
            logs.split("SMTP_URL is not set").skip(1).any(|record| {
                record.contains(&email)
                    && record.contains("http://localhost:8000/verify-email?token=")
            })
        },
    )
    .await;
}

#[actix_web::test]
async fn an_admin_resends_someones_link_and_reads_their_latest_commands() {
    let (app, smtp, _ns) = spawn_with_mail(&[("ACCOUNT_MAIL_MIN_INTERVAL_SECONDS", "0")]).await;
    let admin = app.admin().await;
    let (user, access) = app.user("reminded").await;
    let (_, other) = app.user("bystander").await;
    let (id, email) = (
        user["id"].as_str().unwrap(),
        user["email"].as_str().unwrap(),
    );
    smtp.wait_for(email, SUBJECT, 1).await;
    let path = format!("/api/v1/users/{id}/verification");

    // Someone else's account is not found; an unknown id is not found even for an admin.
    app.send_as("POST", &path, &other, None, &[])
        .await
        .problem(404);
    let unknown = format!("/api/v1/users/{}/verification", uuid::Uuid::now_v7());
    app.send_as("POST", &unknown, &admin, None, &[])
        .await
        .problem(404);
    let res = app.send_as("POST", &path, &admin, None, &[]).await;
    assert_eq!(res.status, 202);
    let command = app.wait_for_command(&res.header("location").unwrap()).await;
    assert_eq!(command["status"], "succeeded", "{command}");
    let new = smtp.wait_for(email, SUBJECT, 2).await[1].token("verify-email");
    // The user may ask for their own address by id as well.
    let res = app.send_as("POST", &path, &access, None, &[]).await;
    assert_eq!(res.status, 202);
    app.wait_for_command(&res.header("location").unwrap()).await;
    let newest = smtp.wait_for(email, SUBJECT, 3).await[2].token("verify-email");
    verify(&app, &new).await.problem(400);
    assert_eq!(verify(&app, &newest).await.status, 204);

    // Newest first, each with where it points; only the user and admins may read them.
    let history = format!("/api/v1/users/{id}/commands");
    let listed = app.get_as(&history, &admin).await.json();
    let kinds: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "VerifyEmail",
            "RequestEmailVerification",
            "RequestEmailVerification",
            "RegisterUser"
        ],
        "{listed}"
    );
    assert_eq!(
        listed["items"][0]["location"],
        format!("/api/v1/users/{id}")
    );
    assert_eq!(app.get_as(&history, &access).await.status, 200);
    app.get_as(&history, &other).await.problem(404);
}
