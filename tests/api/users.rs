//! The user account over HTTP: password rules at registration, who sees whom, profile updates
//! with ETags, deactivation, password change, the request id in commands, the admin CLI.

use crate::helpers::*;
use serde_json::json;

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
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
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
