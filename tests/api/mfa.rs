//! TOTP two-factor authentication end to end: enrol, confirm, login in two steps, replay and
//! recovery codes, disable, throttling, and the secret never leaving the API in plaintext.

use crate::helpers::*;
use hexactor::domain::totp;
use serde_json::json;

/// The code an authenticator app shows `offset` steps from now.
fn code(secret_base32: &str, offset: i64) -> String {
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_base32.as_bytes())
        .unwrap();
    let step = totp::step_at(chrono::Utc::now().timestamp()) + offset;
    format!("{:06}", totp::hotp(&secret, step as u64, 6))
}

struct Enrolled {
    token: String,
    secret: String,
    recovery_codes: Vec<String>,
}

async fn enrol(app: &TestApp, token: &str) -> String {
    let res = app
        .send_as("POST", "/api/v1/users/me/mfa/totp", token, None, &[])
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(uri.contains(&format!("secret={secret}")));
    secret
}

async fn confirm(app: &TestApp, token: &str, code: &str) -> Reply {
    app.send_as(
        "POST",
        "/api/v1/users/me/mfa/totp/confirm",
        token,
        Some(&json!({ "code": code })),
        &[],
    )
    .await
}

async fn enrolled_user(app: &TestApp, n: &str) -> Enrolled {
    let (_, token) = app.user(n).await;
    let secret = enrol(app, &token).await;
    let res = confirm(app, &token, &code(&secret, 0)).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let recovery_codes: Vec<String> = res.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        token,
        secret,
        recovery_codes,
    }
}

/// The first step: the right password, answered with the mfa-required problem.
async fn mfa_token(app: &TestApp, email: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": PASSWORD }),
            &[],
        )
        .await;
    let problem = res.problem(401);
    assert!(
        problem["type"].as_str().unwrap().ends_with("/mfa-required"),
        "{problem}"
    );
    assert!(problem.get("access_token").is_none() && problem.get("refresh_token").is_none());
    problem["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, mfa_token: &str, code: &str) -> Reply {
    app.post_json(
        "/api/v1/auth/login/mfa",
        &json!({ "mfa_token": mfa_token, "code": code }),
        &[],
    )
    .await
}

#[actix_web::test]
async fn enrol_confirm_and_log_in_with_a_code_each_code_once() {
    let app = spawn_app().await;
    let (_, token) = app.user("1").await;
    let secret = enrol(&app, &token).await;
    // Pending until confirmed: the password alone still logs in.
    app.login("user1@example.com", PASSWORD).await;
    let wrong = format!(
        "{:06}",
        (code(&secret, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    assert_eq!(
        confirm(&app, &token, &wrong).await.problem(422)["errors"][0]["field"],
        "code"
    );
    let confirmation_code = code(&secret, 0);
    let res = confirm(&app, &token, &confirmation_code).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let codes = res.json()["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 10);
    // Confirming again, or enrolling again, is a conflict while TOTP is on.
    confirm(&app, &token, &code(&secret, 1)).await.problem(409);
    app.send_as("POST", "/api/v1/users/me/mfa/totp", &token, None, &[])
        .await
        .problem(409);

    // The code used to confirm is spent: replaying it is refused.
    let first = mfa_token(&app, "user1@example.com").await;
    second_step(&app, &first, &confirmation_code)
        .await
        .problem(401);
    // The token is single use: spent by that attempt.
    second_step(&app, &first, &code(&secret, 1))
        .await
        .problem(401);

    let next = code(&secret, 1);
    let res = second_step(&app, &mfa_token(&app, "user1@example.com").await, &next).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let tokens = res.json();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/users/me", access).await.status, 200);
    assert!(tokens["refresh_token"].is_string());
    // The same code again, within its window, on a fresh token: refused.
    second_step(&app, &mfa_token(&app, "user1@example.com").await, &next)
        .await
        .problem(401);
    second_step(&app, "not-a-token", &code(&secret, 0))
        .await
        .problem(401);
}

#[actix_web::test]
async fn a_recovery_code_works_once() {
    let app = spawn_app().await;
    let user = enrolled_user(&app, "1").await;
    let recovery = &user.recovery_codes[3];
    let res = second_step(&app, &mfa_token(&app, "user1@example.com").await, recovery).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    second_step(&app, &mfa_token(&app, "user1@example.com").await, recovery)
        .await
        .problem(401);
    // Another one still works, typed in upper case.
    let other = user.recovery_codes[4].to_uppercase();
    let res = second_step(&app, &mfa_token(&app, "user1@example.com").await, &other).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        app.count("SELECT count(*) FROM mfa_recovery_codes WHERE used_at IS NULL")
            .await,
        8
    );
}

#[actix_web::test]
async fn disabling_needs_the_password_and_restores_single_step_login() {
    let app = spawn_app().await;
    let user = enrolled_user(&app, "1").await;
    let disable = |password: &str| {
        let body = json!({ "password": password });
        let token = user.token.clone();
        let app = &app;
        async move {
            app.send_as(
                "DELETE",
                "/api/v1/users/me/mfa/totp",
                &token,
                Some(&body),
                &[],
            )
            .await
        }
    };
    assert_eq!(
        disable("not my password").await.problem(422)["errors"][0]["field"],
        "password"
    );
    let _ = mfa_token(&app, "user1@example.com").await; // still on
    assert_eq!(disable(PASSWORD).await.status, 204);
    app.login("user1@example.com", PASSWORD).await;
    assert_eq!(app.count("SELECT count(*) FROM mfa_totp").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM mfa_recovery_codes").await,
        0
    );
    disable(PASSWORD).await.problem(409);
}

#[actix_web::test]
async fn wrong_codes_are_throttled_like_logins() {
    let app = spawn_app().await;
    let user = enrolled_user(&app, "1").await;
    let wrong = format!(
        "{:06}",
        (code(&user.secret, 0).parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for _ in 0..5 {
        second_step(&app, &mfa_token(&app, "user1@example.com").await, &wrong)
            .await
            .problem(401);
    }
    let locked = second_step(
        &app,
        &mfa_token(&app, "user1@example.com").await,
        &code(&user.secret, 1),
    )
    .await;
    locked.problem(429);
    assert!(locked.header("retry-after").is_some());
}

#[actix_web::test]
async fn the_secret_and_recovery_codes_stay_out_of_the_broker_the_outbox_and_the_logs() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, hexactor::startup::ProcessRole::All, &[]).await;
    // A copy of every MFA command the relay publishes, on a queue that vanishes with its connection.
    let conn = amqp().await;
    let channel = conn.create_channel().await.unwrap();
    let copy = channel
        .queue_declare(
            "".into(),
            lapin::options::QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
    let exchange =
        hexactor::infrastructure::messaging::names::Names::new(&ns.prefix).commands_exchange;
    channel
        .queue_bind(
            copy.name().clone(),
            exchange.as_str().into(),
            "users.mfa.#".into(),
            Default::default(),
            Default::default(),
        )
        .await
        .unwrap();
    let user = enrolled_user(&app, "1").await;
    let mut published = Vec::new();
    eventually(
        "both MFA commands are published",
        std::time::Duration::from_secs(10),
        async || {
            while let Some(m) = take_message(&conn, copy.name().as_str()).await {
                published.push(m.delivery.data);
            }
            published.len() >= 2
        },
    )
    .await;
    assert!(
        published
            .iter()
            .any(|p| String::from_utf8_lossy(p).contains("\"EnrolTotp\""))
    );
    let raw = data_encoding::BASE32_NOPAD
        .decode(user.secret.as_bytes())
        .unwrap();
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM outbox ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        payloads
            .iter()
            .any(|p| String::from_utf8_lossy(p).contains("\"EnrolTotp\"")),
        "the enrolment travelled as a command"
    );
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for payload in payloads.iter().chain(&published) {
        let text = String::from_utf8_lossy(payload).to_lowercase();
        assert!(!contains(payload, &raw), "raw secret in a message");
        assert!(
            !text.contains(&user.secret.to_lowercase()),
            "secret in a message"
        );
        for code in &user.recovery_codes {
            assert!(!text.contains(code), "recovery code in a message");
        }
        // JSON arrays of byte values: the raw secret must not appear that way either.
        let as_numbers = raw.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
        assert!(!text.contains(&as_numbers));
    }
    let (sealed,): (Vec<u8>,) = sqlx::query_as("SELECT secret_ciphertext FROM mfa_totp")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!contains(&sealed, &raw), "the secret is encrypted at rest");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_hash FROM mfa_recovery_codes")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|h| h.len() == 32), "hashes, not codes");
    let logs = captured_logs();
    assert!(!logs.contains(&user.secret), "secret in the logs");
    for code in &user.recovery_codes {
        assert!(!logs.contains(code.as_str()), "recovery code in the logs");
    }
}

#[actix_web::test]
async fn one_code_used_twice_at_the_same_moment_logs_in_once() {
    let app = spawn_app().await;
    let user = enrolled_user(&app, "1").await;
    let (first, second) = futures_util::future::join(
        mfa_token(&app, "user1@example.com"),
        mfa_token(&app, "user1@example.com"),
    )
    .await;
    let next = code(&user.secret, 1);
    let (a, b) = futures_util::future::join(
        second_step(&app, &first, &next),
        second_step(&app, &second, &next),
    )
    .await;
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
}

#[actix_web::test]
async fn enrolment_answers_asynchronously_with_the_secret_and_the_command() {
    let app = spawn_app().await;
    let (_, token) = app.user("1").await;
    let res = app
        .send_as(
            "POST",
            "/api/v1/users/me/mfa/totp",
            &token,
            None,
            &[("prefer", "respond-async")],
        )
        .await;
    assert_eq!(res.status, 202, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    let secret = body["secret"].as_str().unwrap();
    let command = app.wait_for_command(&res.header("location").unwrap()).await;
    assert_eq!(
        (command["type"].as_str(), command["status"].as_str()),
        (Some("EnrolTotp"), Some("succeeded"))
    );
    let confirmed = confirm(&app, &token, &code(secret, 0)).await;
    assert_eq!(
        confirmed.status,
        200,
        "{}",
        String::from_utf8_lossy(&confirmed.body)
    );
}
