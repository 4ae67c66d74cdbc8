//! Email change with re-verification against real PostgreSQL, RabbitMQ and an SMTP listener:
//! tokens are read from the received messages, as a user would.

use crate::helpers::*;
use crate::smtp::{SmtpServer, spawn_with_mail};
use hexactor::startup::ProcessRole;
use serde_json::{Value, json};

const REQUEST: &str = "/api/v1/users/me/email";
const CONFIRM: &str = "/api/v1/auth/email-change/confirm";
const REVERT: &str = "/api/v1/auth/email-change/revert";
const CONFIRM_SUBJECT: &str = "Confirm the new email address";
const NOTICE_SUBJECT: &str = "A change of your hexactor email address";

async fn request(app: &TestApp, access: &str, new_email: &str, password: &str) -> Reply {
    let body = json!({ "new_email": new_email, "password": password });
    app.send_as("POST", REQUEST, access, Some(&body), &[]).await
}

/// Requests the change and waits for the worker to apply it (it always succeeds).
async fn requested(app: &TestApp, access: &str, new_email: &str) -> Reply {
    let reply = request(app, access, new_email, PASSWORD).await;
    assert_eq!(
        reply.status,
        202,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let command = app
        .wait_for_command(&reply.header("location").expect("Location"))
        .await;
    assert_eq!(command["status"], "succeeded", "{command}");
    reply
}

async fn follow(app: &TestApp, path: &str, token: &str) -> Reply {
    app.post_json(path, &json!({ "token": token }), &[]).await
}

fn problem_type(reply: &Reply, status: u16) -> String {
    reply.problem(status)["type"].as_str().unwrap().to_owned()
}

async fn confirm_token(smtp: &SmtpServer, to: &str, nth: usize) -> String {
    smtp.wait_for(to, CONFIRM_SUBJECT, nth).await[nth - 1].token("confirm-email-change")
}

async fn revert_token(smtp: &SmtpServer, to: &str, nth: usize) -> String {
    smtp.wait_for(to, NOTICE_SUBJECT, nth).await[nth - 1].token("revert-email-change")
}

async fn published(app: &TestApp, routing_key: &str) -> Vec<Value> {
    let payloads: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE routing_key = $1 ORDER BY created_at")
            .bind(routing_key)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    payloads
        .iter()
        .map(|p| serde_json::from_slice(p).unwrap())
        .collect()
}

#[actix_web::test]
async fn the_new_address_is_proved_by_its_link_and_every_replica_logs_in_with_it_at_once() {
    let (app, smtp, ns) = spawn_with_mail(&[]).await;
    let other = spawn_role(&ns, ProcessRole::Api, &[]).await;
    let (user, access) = app.user("mover").await;
    let old = user["email"].as_str().unwrap().to_owned();
    let new = "moved-here@example.com";

    // The password is checked first: wrong is a 401 problem; not an address is a 422.
    let wrong = request(&app, &access, new, "not my password at all").await;
    assert!(problem_type(&wrong, 401).ends_with("/unauthorized"));
    request(&app, &access, "not an address", PASSWORD)
        .await
        .problem(422);
    requested(&app, &access, new).await;

    let token = confirm_token(&smtp, new, 1).await;
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let notice = smtp.wait_for(&old, NOTICE_SUBJECT, 1).await;
    assert!(
        notice[0]
            .text()
            .contains("https://id.example.test/revert-email-change?token=")
    );
    assert!(
        !notice[0].text().contains(new),
        "the notice names no address"
    );
    // Nothing changed yet.
    assert_eq!(
        other.get_as("/api/v1/users/me", &access).await.json()["email"],
        old.as_str()
    );

    // Confirmed through the other replica.
    let done = follow(&other, CONFIRM, &token).await;
    assert_eq!(done.status, 204, "{}", String::from_utf8_lossy(&done.body));
    let me = app.get_as("/api/v1/users/me", &access).await.json();
    assert_eq!(me["email"], new);
    assert_eq!(me["email_verified"], true);
    other.login(new, PASSWORD).await;
    app.login(new, PASSWORD).await;
    for replica in [&app, &other] {
        let by_old = replica
            .post_json(
                "/api/v1/auth/login",
                &json!({ "email": old, "password": PASSWORD }),
                &[],
            )
            .await;
        assert_eq!(by_old.status, 401, "the old address no longer logs in");
    }
    // Single use.
    assert!(problem_type(&follow(&app, CONFIRM, &token).await, 400).ends_with("/invalid-token"));
    assert!(problem_type(&follow(&app, CONFIRM, "garbage").await, 400).ends_with("/invalid-token"));

    let changed = published(&app, "users.user.email-changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["type"], "UserEmailChanged");
    assert_eq!(changed[0]["old_email"], old.as_str());
    assert_eq!(changed[0]["new_email"], new);

    // The tokens are only ever in the messages: not in the outbox, the command log or a log line.
    let revert = revert_token(&smtp, &old, 1).await;
    let outbox: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM outbox")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let commands: Vec<String> = sqlx::query_scalar("SELECT row_to_json(c)::text FROM commands c")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let logs = captured_logs();
    for secret in [&token, &revert] {
        assert!(
            outbox
                .iter()
                .all(|p| !String::from_utf8_lossy(p).contains(secret.as_str()))
        );
        assert!(commands.iter().all(|c| !c.contains(secret.as_str())));
        assert!(
            !logs.contains(secret.as_str()),
            "a token reached a log line"
        );
    }
}

#[actix_web::test]
async fn an_address_in_use_answers_the_same_and_its_owner_gets_nothing() {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await;
    let (asker, access) = app.user("asker").await;
    let (owner, _) = app.user("owner").await;
    let asker_email = asker["email"].as_str().unwrap();
    let taken = owner["email"].as_str().unwrap();

    let to_taken = requested(&app, &access, taken).await;
    let to_free = requested(&app, &access, "free-address@example.com").await;
    assert_eq!(to_taken.status, to_free.status);
    let shape = |r: &Reply| {
        let mut body = r.json();
        body["command_id"] = Value::Null;
        body["location"] = Value::Null;
        body
    };
    assert_eq!(shape(&to_taken), shape(&to_free));

    // The asker's old address is told both times; only the free address gets a link.
    revert_token(&smtp, asker_email, 2).await;
    confirm_token(&smtp, "free-address@example.com", 1).await;
    assert!(smtp.to(taken, CONFIRM_SUBJECT).is_empty());
    assert!(smtp.to(taken, NOTICE_SUBJECT).is_empty());
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM one_time_tokens WHERE purpose = 'email_change' AND email = $1",
    )
    .bind(taken)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(live, 0, "no token for the address in use");
    assert_eq!(
        app.get_as("/api/v1/users/me", &access).await.json()["email"],
        asker_email
    );
}

#[actix_web::test]
async fn a_newer_request_replaces_the_older_link_and_an_address_taken_meanwhile_is_409() {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await;
    let (_, access) = app.user("twice").await;
    requested(&app, &access, "first-choice@example.com").await;
    let first = confirm_token(&smtp, "first-choice@example.com", 1).await;
    requested(&app, &access, "second-choice@example.com").await;
    let second = confirm_token(&smtp, "second-choice@example.com", 1).await;

    assert!(problem_type(&follow(&app, CONFIRM, &first).await, 400).ends_with("/invalid-token"));
    // Someone registers the address before the link is followed.
    let body = crate::support::registration("second-choice", "squatter");
    assert_eq!(app.register(&body, &[]).await.status, 201);
    let taken = follow(&app, CONFIRM, &second).await;
    assert!(problem_type(&taken, 409).ends_with("/email-taken"));
}

#[actix_web::test]
async fn the_old_address_undoes_the_change_and_every_session_ends() {
    let (app, smtp, _ns) = spawn_with_mail(&[]).await;
    let (user, access) = app.user("victim").await;
    let old = user["email"].as_str().unwrap().to_owned();
    let refresh = app.login(&old, PASSWORD).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    requested(&app, &access, "hijacker@example.com").await;
    let token = confirm_token(&smtp, "hijacker@example.com", 1).await;
    assert_eq!(follow(&app, CONFIRM, &token).await.status, 204);

    let undo = revert_token(&smtp, &old, 1).await;
    let done = follow(&app, REVERT, &undo).await;
    assert_eq!(done.status, 204, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(app.get_as("/api/v1/users/me", &access).await.status, 401);
    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh }),
            &[],
        )
        .await;
    assert_eq!(refreshed.status, 401);
    let fresh = app.login(&old, PASSWORD).await;
    let me = app
        .get_as("/api/v1/users/me", fresh["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(me["email"], old.as_str());
    let by_new = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "hijacker@example.com", "password": PASSWORD }),
            &[],
        )
        .await;
    assert_eq!(by_new.status, 401);
    assert!(problem_type(&follow(&app, REVERT, &undo).await, 400).ends_with("/invalid-token"));
    let reverted = published(&app, "users.user.email-change-reverted").await;
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0]["email"], old.as_str());
    assert_eq!(reverted[0]["reverted_email"], "hijacker@example.com");
}

#[actix_web::test]
async fn wrong_passwords_count_towards_the_login_lockout() {
    let (app, _smtp, _ns) =
        spawn_with_mail(&[("LOGIN_MAX_FAILURES", "2"), ("LOGIN_LOCKOUT_SECONDS", "60")]).await;
    let (user, access) = app.user("guessed").await;
    for _ in 0..2 {
        let wrong = request(&app, &access, "elsewhere@example.com", "a wrong guess 123").await;
        wrong.problem(401);
    }
    let locked = request(&app, &access, "elsewhere@example.com", PASSWORD).await;
    locked.problem(429);
    assert!(locked.header("retry-after").is_some());
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": user["email"], "password": PASSWORD }),
            &[],
        )
        .await;
    assert_eq!(login.status, 429, "the same count as login's");
    // Refused before a command is recorded (that happens before the 202).
    let recorded = app
        .count("SELECT count(*) FROM commands WHERE type = 'ChangeEmail'")
        .await;
    assert_eq!(recorded, 0);
}
