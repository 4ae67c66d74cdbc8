//! Password recovery against real PostgreSQL, RabbitMQ and an SMTP listener: the token is read
//! from the received message, as a user would.

use crate::helpers::*;
use crate::smtp::spawn_with_mail;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::json;
use std::time::Duration;

const RESET: &str = "/api/v1/auth/password-reset";
const CONFIRM: &str = "/api/v1/auth/password-reset/confirm";
const NEW_PASSWORD: &str = "a brand new passphrase 77";
const SUBJECT: &str = "Reset your hexactor password";

async fn request_reset(app: &TestApp, email: &str) -> Reply {
    app.post_json(RESET, &json!({ "email": email }), &[]).await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> Reply {
    app.post_json(
        CONFIRM,
        &json!({ "token": token, "new_password": password }),
        &[],
    )
    .await
}

/// Waits until every reset request recorded so far has been applied by the worker; all of
/// them succeed, whatever the address.
async fn requests_applied(app: &TestApp, count: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let done =
        "SELECT count(*) FROM commands WHERE type = 'RequestPasswordReset' AND status <> 'pending'";
    while app.count(done).await != count {
        if std::time::Instant::now() > deadline {
            let groups: Vec<(String, String, i64)> =
                sqlx::query_as("SELECT type, status, count(*) FROM commands GROUP BY 1, 2")
                    .fetch_all(&app.pool)
                    .await
                    .unwrap();
            let unpublished = app
                .count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .await;
            let logs = captured_logs();
            let warnings: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect();
            panic!(
                "reset requests not applied: {groups:?}, unpublished {unpublished}, {warnings:#?}"
            );
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let statuses: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT status, error_detail FROM commands WHERE type = 'RequestPasswordReset' AND status <> 'succeeded'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(statuses.is_empty(), "{statuses:?}");
}

#[actix_web::test]
async fn timing_a_reset_request_answers_alike_for_known_and_unknown_addresses_and_mails_only_the_account()
 {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await;
    let (user, _) = app.user("known").await;
    let email = user["email"].as_str().unwrap();

    let known = request_reset(&app, email).await;
    let unknown = request_reset(&app, "nobody-here@example.com").await;
    assert_eq!(known.status, 202);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body, "the same body, byte for byte");
    assert_eq!(unknown.header("location"), known.header("location"));
    // Not an address at all is a client error (it says nothing about any account).
    request_reset(&app, "not an address").await.problem(422);

    // Comparable time: the API does the same work for both (parse, record a command); the
    // worker decides out of sight. Interleaved, so that machine load weighs on both alike.
    let (mut known_ms, mut unknown_ms) = (Vec::new(), Vec::new());
    for round in 0..16 {
        // Each goes first in half of the rounds: the worker applying the previous request
        // competes with whichever comes next.
        let mut pair = [
            (email, &mut known_ms),
            ("nobody-here@example.com", &mut unknown_ms),
        ];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (address, times) in pair {
            let started = std::time::Instant::now();
            assert_eq!(request_reset(&app, address).await.status, 202);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (known_ms, unknown_ms) = (median(&mut known_ms), median(&mut unknown_ms));
    eprintln!("password-reset request, median: known {known_ms:.2} ms, unknown {unknown_ms:.2} ms");
    assert!(
        (known_ms - unknown_ms).abs() < 25.0,
        "known {known_ms:.2} ms vs unknown {unknown_ms:.2} ms"
    );

    let mail = smtp.wait_for(email, SUBJECT, 1).await;
    let token = mail[0].token("reset-password");
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert!(mail[0].text().contains(&format!(
        "https://id.example.test/reset-password?token={token}"
    )));
    requests_applied(&app, 34).await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM outbox WHERE routing_key = 'users.user.password-reset-requested'"
        )
        .await,
        1,
        "only the existing account gets a reset, once a minute"
    );
    assert!(smtp.to("nobody-here@example.com", "").is_empty());
}

#[actix_web::test]
async fn a_reset_token_works_once_applies_the_policy_revokes_sessions_and_never_travels() {
    let (app, smtp, ns) = spawn_with_mail(&[]).await;
    // Everything published on either exchange from now on is copied here.
    let conn = amqp().await;
    let channel = conn.create_channel().await.unwrap();
    let observer = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    for exchange in ["events", "commands"] {
        channel
            .queue_bind(
                observer.name().as_str().into(),
                format!("{}.{exchange}", ns.prefix).as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
    }

    let (user, access) = app.user("reset").await;
    let email = user["email"].as_str().unwrap();
    let refresh = app.login(email, PASSWORD).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(request_reset(&app, email).await.status, 202);
    let token = smtp.wait_for(email, SUBJECT, 1).await[0].token("reset-password");

    // The password policy applies, and a refusal does not spend the token.
    let weak = confirm(&app, &token, "password").await.problem(422);
    assert_eq!(weak["errors"][0]["field"], "new_password", "{weak}");
    confirm(&app, &token, "user_reset is my password")
        .await
        .problem(422);

    let done = confirm(&app, &token, NEW_PASSWORD).await;
    assert_eq!(done.status, 204, "{}", String::from_utf8_lossy(&done.body));

    // Single use.
    let again = confirm(&app, &token, "yet another passphrase 99")
        .await
        .problem(400);
    assert!(
        again["type"].as_str().unwrap().ends_with("/invalid-token"),
        "{again}"
    );
    confirm(&app, "not-a-token", NEW_PASSWORD)
        .await
        .problem(400);

    // Every session ended: the access token, the refresh token; the old password is gone.
    assert_eq!(app.get_as("/api/v1/users/me", &access).await.status, 401);
    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh }),
            &[],
        )
        .await;
    assert_eq!(refreshed.status, 401);
    let old = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": PASSWORD }),
            &[],
        )
        .await;
    assert_eq!(old.status, 401);
    app.login(email, NEW_PASSWORD).await;
    eventually("PasswordReset is emitted", Duration::from_secs(10), async || {
        app.count("SELECT count(*) FROM outbox WHERE routing_key = 'users.user.password-reset' AND published_at IS NOT NULL")
            .await
            == 1
    })
    .await;

    // The token itself is only ever in the message: not in the outbox, the command log, any
    // published message, or the logs.
    let outbox: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM outbox")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(outbox.len() >= 4);
    let commands: Vec<String> = sqlx::query_scalar("SELECT row_to_json(c)::text FROM commands c")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut published = Vec::new();
    while let Some(m) = channel
        .basic_get(
            observer.name().as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
    {
        published.push(m.delivery.data.clone());
    }
    assert!(
        published
            .iter()
            .any(|p| String::from_utf8_lossy(p).contains("PasswordResetRequested")),
        "the observer saw the reset's event"
    );
    for payload in outbox.iter().chain(&published) {
        assert!(!String::from_utf8_lossy(payload).contains(&token));
    }
    for row in &commands {
        assert!(!row.contains(&token));
    }
    assert!(
        !captured_logs().contains(&token),
        "the token reached a log line"
    );
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM one_time_tokens WHERE position(convert_to($1, 'UTF8') in token_hash) > 0",
    )
    .bind(&token)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 0, "only the hash is stored");
    let _ = conn.close(200, "done".into()).await;
}

#[actix_web::test]
async fn an_expired_reset_token_is_refused() {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await;
    let (user, _) = app.user("expired").await;
    let email = user["email"].as_str().unwrap();
    request_reset(&app, email).await;
    let token = smtp.wait_for(email, SUBJECT, 1).await[0].token("reset-password");
    // Half an hour passes (the clock is the database's).
    sqlx::query(
        "UPDATE one_time_tokens SET created_at = created_at - interval '31 minutes',
                expires_at = expires_at - interval '31 minutes' WHERE purpose = 'password_reset'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let refused = confirm(&app, &token, NEW_PASSWORD).await.problem(400);
    assert!(
        refused["type"]
            .as_str()
            .unwrap()
            .ends_with("/invalid-token")
    );
    app.login(email, PASSWORD).await;
}

#[actix_web::test]
async fn a_newer_reset_request_invalidates_the_older_token() {
    let (app, smtp, _ns) = spawn_with_mail(&[("ACCOUNT_MAIL_MIN_INTERVAL_SECONDS", "0")]).await;
    let (user, _) = app.user("twice").await;
    let email = user["email"].as_str().unwrap();
    request_reset(&app, email).await;
    let first = smtp.wait_for(email, SUBJECT, 1).await[0].token("reset-password");
    request_reset(&app, email).await;
    let second = smtp.wait_for(email, SUBJECT, 2).await[1].token("reset-password");
    assert_ne!(first, second);
    confirm(&app, &first, NEW_PASSWORD).await.problem(400);
    assert_eq!(confirm(&app, &second, NEW_PASSWORD).await.status, 204);
    app.login(email, NEW_PASSWORD).await;
}

#[actix_web::test]
async fn reset_mails_are_throttled_per_account_silently() {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await; // default: one per account per minute
    let (user, _) = app.user("throttled").await;
    let email = user["email"].as_str().unwrap();
    let first = request_reset(&app, email).await;
    let second = request_reset(&app, email).await;
    assert_eq!((first.status, second.status), (202, 202));
    assert_eq!(first.body, second.body);
    requests_applied(&app, 2).await;
    let mails = smtp.wait_for(email, SUBJECT, 1).await;
    assert_eq!(
        app.count("SELECT count(*) FROM one_time_tokens WHERE purpose = 'password_reset'")
            .await,
        1,
        "the second request issued nothing"
    );
    assert_eq!(mails.len(), 1);
}
