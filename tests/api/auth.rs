//! Logging in over HTTP: the token pair, credentials that fail alike (and take the same time),
//! the lockout after failed logins across replicas, the hash upgrade on login.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use serde_json::json;
use std::time::{Duration, Instant};

#[actix_web::test]
async fn login_issues_a_token_pair_that_opens_me_and_verify() {
    let app = spawn_app().await;
    let (user, _) = app.user("1").await;
    let tokens = app.login("user1@example.com", PASSWORD).await;
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["user_id"], user["id"]);
    assert_eq!(tokens["email"], "user1@example.com");
    for field in [
        "access_token",
        "refresh_token",
        "expires_at",
        "refresh_expires_at",
    ] {
        assert!(tokens[field].is_string(), "{field} missing: {tokens}");
    }
    let access = tokens["access_token"].as_str().unwrap();
    let me = app.get_as("/api/v1/users/me", access).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["id"], user["id"]);
    let verify = app
        .send_as("POST", "/api/v1/auth/verify", access, None, &[])
        .await;
    assert_eq!(verify.status, 200);
    assert_eq!(verify.json()["valid"], true);
    assert_eq!(verify.json()["user_id"], user["id"]);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"auth_attempts_total{status="success"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("jwt_tokens_issued_total 2"),
        "two logins, two tokens"
    );
}

#[actix_web::test]
async fn bad_credentials_unknown_email_and_inactive_accounts_look_the_same() {
    let app = spawn_app().await;
    let (_, _) = app.user("1").await;
    let (inactive, token) = app.user("2").await;
    let id = inactive["id"].as_str().unwrap();
    assert_eq!(
        app.send_as("DELETE", &format!("/api/v1/users/{id}"), &token, None, &[])
            .await
            .status,
        204
    );

    let attempt = async |email: &str, password: &str| {
        app.post_json(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": password }),
            &[],
        )
        .await
    };
    let wrong = attempt("user1@example.com", "not the password at all").await;
    let unknown = attempt("nobody@example.com", PASSWORD).await;
    let deactivated = attempt("user2@example.com", PASSWORD).await;
    for res in [&wrong, &unknown, &deactivated] {
        res.problem(401);
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
    }
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, deactivated.body);
}

#[actix_web::test]
async fn failed_logins_lock_temporarily_across_api_replicas() {
    let ns = Namespace::new().await;
    let limits = [("LOGIN_MAX_FAILURES", "3"), ("LOGIN_LOCKOUT_SECONDS", "2")];
    let a = spawn_role(&ns, ProcessRole::All, &limits).await;
    let b = spawn_role(&ns, ProcessRole::Api, &limits).await;
    a.user("1").await;
    let wrong = json!({ "email": "user1@example.com", "password": "wrong wrong wrong" });
    let right = json!({ "email": "user1@example.com", "password": PASSWORD });
    // Failures on two replicas count together.
    a.post_json("/api/v1/auth/login", &wrong, &[])
        .await
        .problem(401);
    b.post_json("/api/v1/auth/login", &wrong, &[])
        .await
        .problem(401);
    a.post_json("/api/v1/auth/login", &wrong, &[])
        .await
        .problem(401);
    let locked = b.post_json("/api/v1/auth/login", &right, &[]).await;
    locked.problem(429);
    let retry_after: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Temporary: once it expires the right password works again.
    eventually("the lock expires", Duration::from_secs(10), async || {
        a.post_json("/api/v1/auth/login", &right, &[]).await.status == 200
    })
    .await;
    let metrics = b.metrics().await;
    assert!(metrics.contains(r#"auth_attempts_total{status="locked"}"#));
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

#[actix_web::test]
async fn timing_unknown_email_wrong_password_and_inactive_account_take_the_same_time() {
    let ns = Namespace::new().await;
    // bcrypt at cost 10 (~60 ms) dominates the request, and no lockouts during the measurement.
    let app = spawn_role(
        &ns,
        ProcessRole::All,
        &[
            ("PASSWORD_HASH", "bcrypt"),
            ("BCRYPT_COST", "10"),
            ("LOGIN_MAX_FAILURES", "1000"),
            ("LOGIN_MAX_FAILURES_PER_IP", "100000"),
        ],
    )
    .await;
    app.user("1").await;
    let (inactive, token) = app.user("2").await;
    let path = format!("/api/v1/users/{}", inactive["id"].as_str().unwrap());
    assert_eq!(
        app.send_as("DELETE", &path, &token, None, &[]).await.status,
        204
    );

    let cases = [
        ("user1@example.com", "wrong password here"),
        ("ghost@example.com", PASSWORD),
        ("user2@example.com", PASSWORD),
    ];
    // Round-robin, so that whatever else loads the machine weighs on every case alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..21 {
        for (i, (email, password)) in cases.iter().enumerate() {
            let started = Instant::now();
            let res = app
                .post_json(
                    "/api/v1/auth/login",
                    &json!({ "email": email, "password": password }),
                    &[],
                )
                .await;
            times[i].push(started.elapsed());
            assert_eq!(res.status, 401);
        }
    }
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    let (fastest, slowest) = (
        *medians.iter().min().unwrap(),
        *medians.iter().max().unwrap(),
    );
    assert!(
        slowest.as_secs_f64() <= fastest.as_secs_f64() * 1.25,
        "medians differ by more than 25 %: {medians:?}"
    );
}

#[actix_web::test]
async fn a_login_upgrades_a_hash_made_at_a_lower_cost() {
    let ns = Namespace::new().await;
    let bcrypt = ("PASSWORD_HASH", "bcrypt");
    let old = spawn_role(&ns, ProcessRole::All, &[bcrypt, ("BCRYPT_COST", "4")]).await;
    old.user("1").await;
    let new = spawn_role(&ns, ProcessRole::Api, &[bcrypt, ("BCRYPT_COST", "5")]).await;
    new.login("user1@example.com", PASSWORD).await;
    eventually(
        "the hash is re-made at cost 5",
        Duration::from_secs(10),
        async || {
            let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM users")
                .fetch_one(&new.pool)
                .await
                .unwrap();
            hash.starts_with("$2b$05$")
        },
    )
    .await;
    new.login("user1@example.com", PASSWORD).await;
}
