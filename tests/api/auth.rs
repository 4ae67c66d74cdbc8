//! The auth context over HTTP: login, tokens, rotation, revocation, roles, brute force.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use serde_json::{Value, json};
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
async fn registration_through_the_auth_path_and_password_rules() {
    let app = spawn_app().await;
    let res = app
        .post_json("/api/v1/auth/register", &user_body("1"), &[])
        .await;
    assert_eq!(res.status, 201);
    let mut common = user_body("2");
    common["password"] = json!("password123");
    let p = app.register(&common, &[]).await.problem(422);
    assert_eq!(p["errors"][0]["code"], "too_common");
    let mut personal = user_body("3");
    personal["password"] = json!("my name is user_3 okay");
    let p = app.register(&personal, &[]).await.problem(422);
    assert_eq!(p["errors"][0]["code"], "contains_personal_info");
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
async fn refresh_tokens_rotate_and_reuse_revokes_the_whole_family() {
    let app = spawn_app().await;
    app.user("1").await;
    let first = app.login("user1@example.com", PASSWORD).await;
    let refresh = async |token: &Value| {
        app.post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": token }),
            &[],
        )
        .await
    };

    let second = refresh(&first["refresh_token"]).await;
    assert_eq!(second.status, 200);
    let second = second.json();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        app.get_as("/api/v1/users/me", second["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );

    // The first token again: reuse. It fails, and so does everything of that session.
    refresh(&first["refresh_token"]).await.problem(401);
    refresh(&second["refresh_token"]).await.problem(401);
    app.get_as("/api/v1/users/me", second["access_token"].as_str().unwrap())
        .await
        .problem(401);
    // Another session of the same user is untouched.
    let other = app.login("user1@example.com", PASSWORD).await;
    assert_eq!(refresh(&other["refresh_token"]).await.status, 200);
    // Refresh tokens are stored hashed, never as issued.
    let stored: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        stored.iter().all(|(h,)| h.len() == 32
            && h.as_slice() != other["refresh_token"].as_str().unwrap().as_bytes())
    );
}

#[actix_web::test]
async fn logout_ends_the_session_and_logout_all_ends_every_session() {
    let app = spawn_app().await;
    app.user("1").await;
    let a = app.login("user1@example.com", PASSWORD).await;
    let b = app.login("user1@example.com", PASSWORD).await;
    let c = app.login("user1@example.com", PASSWORD).await;
    let token = |t: &Value| t["access_token"].as_str().unwrap().to_owned();

    assert_eq!(
        app.send_as("POST", "/api/v1/auth/logout", &token(&a), None, &[])
            .await
            .status,
        204
    );
    app.get_as("/api/v1/users/me", &token(&a))
        .await
        .problem(401);
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": a["refresh_token"] }),
        &[],
    )
    .await
    .problem(401);
    assert_eq!(app.get_as("/api/v1/users/me", &token(&b)).await.status, 200);

    assert_eq!(
        app.send_as("POST", "/api/v1/auth/logout-all", &token(&b), None, &[])
            .await
            .status,
        204
    );
    app.get_as("/api/v1/users/me", &token(&b))
        .await
        .problem(401);
    app.get_as("/api/v1/users/me", &token(&c))
        .await
        .problem(401);
}

#[actix_web::test]
async fn tokens_that_are_not_valid_access_tokens_are_refused() {
    let app = spawn_app().await;
    app.user("1").await;
    let tokens = app.login("user1@example.com", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    // A refresh token is not an access token.
    app.get_as(
        "/api/v1/users/me",
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await
    .problem(401);
    // Tampered payload.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    parts[1].push('A');
    app.get_as("/api/v1/users/me", &parts.join("."))
        .await
        .problem(401);
    // alg: none with the same claims.
    use base64::Engine as _;
    let none = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"alg":"none","typ":"JWT","kid":"hs256"}"#);
    let unsigned = format!("{none}.{}.", access.split('.').nth(1).unwrap());
    app.get_as("/api/v1/users/me", &unsigned).await.problem(401);
    // No token, wrong scheme.
    let p = app.get("/api/v1/users/me").await.problem(401);
    assert!(p["detail"].as_str().unwrap().contains("bearer"));
    let basic = app
        .request(
            "GET",
            "/api/v1/users/me",
            &[("authorization", "Basic dXNlcjpwYXNz")],
            None,
        )
        .await;
    basic.problem(401);
}

#[actix_web::test]
async fn users_see_only_themselves_admins_see_and_list_everyone() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.user("1").await;
    let (bob, _) = app.user("2").await;
    for n in 3..8 {
        app.user(&n.to_string()).await;
    }
    let bob_path = format!("/api/v1/users/{}", bob["id"].as_str().unwrap());
    // Not yours: 404, exactly as for an id that does not exist.
    let hidden = app.get_as(&bob_path, &alice_token).await.problem(404);
    assert_eq!(hidden["type"], "/problems/not-found");
    assert_eq!(
        app.get_as(
            &format!("/api/v1/users/{}", alice["id"].as_str().unwrap()),
            &alice_token
        )
        .await
        .status,
        200
    );
    app.get_as("/api/v1/users", &alice_token).await.problem(403);

    let admin = app.admin().await;
    assert_eq!(app.get_as(&bob_path, &admin).await.json()["id"], bob["id"]);

    // Cursor pages: stable order, every user exactly once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=3".to_owned();
    loop {
        let page = app.get_as(&path, &admin).await;
        assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
        let page = page.json();
        assert!(page["items"].as_array().unwrap().len() <= 3);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/users?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "7 users + the admin");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8);
    // The model service's limit/offset form.
    let offset = app
        .get_as("/api/v1/users?limit=2&offset=3", &admin)
        .await
        .json();
    let ids: Vec<&str> = offset["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        seen[3..5].iter().map(String::as_str).collect::<Vec<_>>()
    );
    app.get_as("/api/v1/users?limit=0", &admin)
        .await
        .problem(400);
    app.get_as("/api/v1/users?cursor=garbage", &admin)
        .await
        .problem(400);
}

#[actix_web::test]
async fn profile_updates_use_etags_and_if_match() {
    let app = spawn_app().await;
    let (user, token) = app.user("1").await;
    app.user("2").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let etag = app.get_as(&path, &token).await.header("etag").unwrap();

    let res = app
        .send_as(
            "PATCH",
            &path,
            &token,
            Some(&json!({ "first_name": "Grace" })),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["first_name"], "Grace");
    assert_eq!(res.json()["full_name"], "Grace Lovelace");
    let new_etag = res.header("etag").unwrap();
    assert_ne!(new_etag, etag);

    // Stale version: 412, nothing changed.
    let stale = app
        .send_as(
            "PATCH",
            &path,
            &token,
            Some(&json!({ "last_name": "Hopper" })),
            &[("if-match", &etag)],
        )
        .await;
    stale.problem(412);
    assert_eq!(
        app.get_as(&path, &token).await.json()["last_name"],
        "Lovelace"
    );
    // PUT is accepted as the model service's spelling of the same partial update.
    let put = app
        .send_as(
            "PUT",
            &path,
            &token,
            Some(&json!({ "last_name": "Hopper" })),
            &[("if-match", &new_etag)],
        )
        .await;
    assert_eq!(put.status, 200);
    // Username taken (case-insensitively) → 409; invalid → 422; empty → 422.
    app.send_as(
        "PATCH",
        &path,
        &token,
        Some(&json!({ "username": "USER_2" })),
        &[],
    )
    .await
    .problem(409);
    app.send_as(
        "PATCH",
        &path,
        &token,
        Some(&json!({ "username": "a b" })),
        &[],
    )
    .await
    .problem(422);
    app.send_as("PATCH", &path, &token, Some(&json!({})), &[])
        .await
        .problem(422);

    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE routing_key = 'users.user.updated'")
            .await,
        2
    );
}

#[actix_web::test]
async fn deactivation_ends_every_session_at_once_and_repeating_it_is_harmless() {
    let app = spawn_app().await;
    let (user, token) = app.user("1").await;
    let other_session = app.login("user1@example.com", PASSWORD).await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let (_, stranger) = app.user("2").await;
    app.send_as("DELETE", &path, &stranger, None, &[])
        .await
        .problem(404);

    assert_eq!(
        app.send_as("DELETE", &path, &token, None, &[]).await.status,
        204
    );
    app.get_as("/api/v1/users/me", &token).await.problem(401);
    app.get_as(
        "/api/v1/users/me",
        other_session["access_token"].as_str().unwrap(),
    )
    .await
    .problem(401);
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": other_session["refresh_token"] }),
        &[],
    )
    .await
    .problem(401);

    let admin = app.admin().await;
    assert_eq!(
        app.send_as("DELETE", &path, &admin, None, &[]).await.status,
        204,
        "repeat is harmless"
    );
    let read = app.get_as(&path, &admin).await.json();
    assert_eq!(read["is_active"], false, "soft delete: the row stays");
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE routing_key = 'users.user.deactivated'")
            .await,
        1
    );
}

#[actix_web::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let (user, token) = app.user("1").await;
    let other = app.login("user1@example.com", PASSWORD).await;
    let path = format!("/api/v1/users/{}/password", user["id"].as_str().unwrap());
    let new_password = "a brand new passphrase 77";

    let wrong = app
        .send_as(
            "PUT",
            &path,
            &token,
            Some(&json!({ "current_password": "nope nope nope", "new_password": new_password })),
            &[],
        )
        .await;
    assert_eq!(wrong.problem(422)["errors"][0]["field"], "current_password");
    let weak = app
        .send_as(
            "PUT",
            &path,
            &token,
            Some(&json!({ "current_password": PASSWORD, "new_password": "12345678" })),
            &[],
        )
        .await;
    assert_eq!(weak.problem(422)["errors"][0]["code"], "too_common");

    let ok = app
        .send_as(
            "PUT",
            &path,
            &token,
            Some(&json!({ "current_password": PASSWORD, "new_password": new_password })),
            &[],
        )
        .await;
    assert_eq!(ok.status, 204, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(
        app.get_as("/api/v1/users/me", &token).await.status,
        200,
        "this session survives"
    );
    app.get_as("/api/v1/users/me", other["access_token"].as_str().unwrap())
        .await
        .problem(401);
    app.post_json(
        "/api/v1/auth/login",
        &json!({ "email": "user1@example.com", "password": PASSWORD }),
        &[],
    )
    .await
    .problem(401);
    app.login("user1@example.com", new_password).await;
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
    let old = spawn_role(&ns, ProcessRole::All, &[("BCRYPT_COST", "4")]).await;
    old.user("1").await;
    let new = spawn_role(&ns, ProcessRole::Api, &[("BCRYPT_COST", "5")]).await;
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

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[actix_web::test]
async fn eddsa_tokens_verify_with_the_published_jwks_and_old_keys_keep_verifying() {
    let ns = Namespace::new().await;
    let old_keys = format!("old={}", fixture("ed25519-old.pem"));
    let rotated = format!(
        "new={},old={}",
        fixture("ed25519-new.pem"),
        fixture("ed25519-old.pem")
    );
    let before = spawn_role(
        &ns,
        ProcessRole::All,
        &[("JWT_ALGORITHM", "EdDSA"), ("JWT_KEYS", &old_keys)],
    )
    .await;
    before.user("1").await;
    let old_token = before.login("user1@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let after = spawn_role(
        &ns,
        ProcessRole::Api,
        &[("JWT_ALGORITHM", "EdDSA"), ("JWT_KEYS", &rotated)],
    )
    .await;
    let new_token = after.login("user1@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("new")
    );
    assert_eq!(
        jsonwebtoken::decode_header(&old_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("old")
    );
    // After rotation, tokens signed with the old key still work until they expire.
    assert_eq!(
        after.get_as("/api/v1/users/me", &old_token).await.status,
        200
    );
    assert_eq!(
        after.get_as("/api/v1/users/me", &new_token).await.status,
        200
    );

    // Another service verifies with nothing but the published keys.
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&after.get("/.well-known/jwks.json").await.body).unwrap();
    assert_eq!(jwks.keys.len(), 2);
    let key = jwks.find("new").unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["hexactor-api"]);
    let claims = jsonwebtoken::decode::<Value>(
        &new_token,
        &jsonwebtoken::DecodingKey::from_jwk(key).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(claims.claims["typ"], "access");
    // An HS256 deployment publishes no keys: the secret stays secret.
    let hs = spawn_app().await;
    assert_eq!(
        hs.get("/.well-known/jwks.json").await.json()["keys"],
        json!([])
    );
}

#[actix_web::test]
async fn the_request_id_travels_with_the_command_to_the_worker() {
    let app = spawn_app().await;
    let res = app
        .register(&user_body("1"), &[("x-request-id", "trace-me-42")])
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.header("x-request-id").as_deref(), Some("trace-me-42"));
    let logs = captured_logs();
    let worker_line = logs
        .lines()
        .find(|l| l.contains("command applied"))
        .expect("worker log line");
    assert!(worker_line.contains("trace-me-42"), "{worker_line}");
}

#[actix_web::test]
async fn the_admin_create_cli_makes_an_admin_and_never_takes_the_password_from_argv() {
    let app = spawn_app().await;
    let ns_db = app
        .pool
        .connect_options()
        .get_database()
        .unwrap()
        .to_owned();
    let run = |password: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hexactor"));
        cmd.args([
            "admin",
            "create",
            "--email",
            "boss@example.com",
            "--username",
            "the_boss",
        ])
        .env("DATABASE_URL", format!("{}/{}", postgres_base(), ns_db))
        .env("BCRYPT_COST", "4")
        .env_remove("ADMIN_PASSWORD");
        if let Some(p) = password {
            cmd.env("ADMIN_PASSWORD", p);
        }
        cmd.output().expect("hexactor runs")
    };
    let missing = run(None);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("ADMIN_PASSWORD"));
    let ok = run(Some("quiet lanterns over harbour 9"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let token = app
        .login("boss@example.com", "quiet lanterns over harbour 9")
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get_as("/api/v1/users", &token).await.status,
        200,
        "the new admin may list users"
    );
    let (_, user_token) = app.user("1").await;
    app.get_as("/api/v1/users", &user_token).await.problem(403);
}

#[actix_web::test]
async fn a_logout_on_one_replica_is_honoured_by_another() {
    let ns = Namespace::new().await;
    let a = spawn_role(&ns, ProcessRole::All, &[]).await;
    let b = spawn_role(&ns, ProcessRole::Api, &[]).await;
    a.user("1").await;
    let tokens = a.login("user1@example.com", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        b.get_as("/api/v1/users/me", access).await.status,
        200,
        "any replica accepts the token"
    );
    assert_eq!(
        a.send_as("POST", "/api/v1/auth/logout", access, None, &[])
            .await
            .status,
        204
    );
    b.get_as("/api/v1/users/me", access).await.problem(401);
    // A password change must not contain the username either.
    let (user, token) = b.user("2").await;
    let path = format!("/api/v1/users/{}/password", user["id"].as_str().unwrap());
    let body = json!({ "current_password": PASSWORD, "new_password": "zebra user_2 quantum" });
    assert_eq!(
        b.send_as("PUT", &path, &token, Some(&body), &[])
            .await
            .problem(422)["errors"][0]["code"],
        "contains_personal_info"
    );
}

/// A client of the model service refreshes with its access token as bearer and no body: it is
/// told what to send instead (not a bare 415), and a malformed body keeps its own answer.
#[actix_web::test]
async fn refresh_with_a_bearer_and_no_body_says_to_send_the_refresh_token() {
    let app = spawn_app().await;
    let (_, access) = app.user("refresher").await;
    let bearer = format!("Bearer {access}");
    for headers in [
        vec![("authorization", bearer.as_str())],
        vec![
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ],
    ] {
        let res = app
            .request("POST", "/api/v1/auth/refresh", &headers, None)
            .await;
        let problem = res.problem(400);
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(r#"{"refresh_token": "#), "{detail}");
        assert_eq!(problem["instance"], "/api/v1/auth/refresh");
    }
    let res = app
        .request(
            "POST",
            "/api/v1/auth/refresh",
            &[("content-type", "text/plain")],
            Some(b"token".to_vec()),
        )
        .await;
    res.problem(415);
}
