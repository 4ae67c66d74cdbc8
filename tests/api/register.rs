//! The write path (a command through RabbitMQ) and the read path.

use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn register_returns_201_with_the_user_and_get_reads_it_back() {
    let app = spawn_app().await;
    let res = app.register(&user_body("1"), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let location = res.header("location").expect("Location");
    let user = res.json();
    assert_eq!(
        location,
        format!("/api/v1/users/{}", user["id"].as_str().unwrap())
    );
    assert_eq!(user["email"], "user1@example.com");
    assert_eq!(user["full_name"], "Ada Lovelace");
    assert_eq!(user["is_active"], true);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let token = app.login("user1@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = app.get_as(&location, &token).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), user);
    assert_eq!(
        app.get(&location).await.problem(401)["type"],
        "/problems/unauthorized"
    );
    // The trailing-slash form is the same endpoint.
    assert_eq!(app.register(&user_body("2"), &[]).await.status, 201);
    let slash = app.post_json("/api/v1/users/", &user_body("3"), &[]).await;
    assert_eq!(slash.status, 201);
    assert_eq!(app.count("SELECT count(*) FROM users").await, 3);
}

#[actix_web::test]
async fn email_is_normalised_before_it_is_stored() {
    let app = spawn_app().await;
    let mut body = user_body("x");
    body["email"] = json!("  Mixed.Case@Example.COM ");
    let res = app.register(&body, &[]).await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["email"], "mixed.case@example.com");
}

#[actix_web::test]
async fn respond_async_returns_202_and_the_command_can_be_polled_to_success() {
    let app = spawn_app().await;
    let res = app
        .register(&user_body("1"), &[("prefer", "respond-async")])
        .await;
    assert_eq!(res.status, 202);
    let location = res.header("location").unwrap();
    assert!(location.starts_with("/api/v1/commands/"));
    assert_eq!(
        res.json()["command_id"].as_str().unwrap(),
        location.rsplit('/').next().unwrap()
    );

    let command = app.wait_for_command(&location).await;
    assert_eq!(command["status"], "succeeded");
    assert_eq!(command["type"], "RegisterUser");
    assert!(command["completed_at"].is_string());
    let user_location = command["location"].as_str().unwrap();
    let token = app.login("user1@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = app.get_as(user_location, &token).await;
    assert_eq!(user.status, 200);
    assert_eq!(user.json()["username"], "user_1");
}

#[actix_web::test]
async fn duplicates_conflict_and_the_command_records_the_failure() {
    let app = spawn_app().await;
    assert_eq!(app.register(&user_body("1"), &[]).await.status, 201);

    let mut same_email = user_body("2");
    same_email["email"] = json!("USER1@example.com");
    let p = app.register(&same_email, &[]).await.problem(409);
    assert_eq!(p["code"], "email_taken");
    assert_eq!(p["type"], "/problems/email-taken");
    let command = app
        .get(&format!(
            "/api/v1/commands/{}",
            p["command_id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(command["status"], "failed");
    assert_eq!(command["error"]["code"], "email_taken");

    let mut same_username = user_body("3");
    same_username["username"] = json!("USER_1"); // differs only in case
    let p = app.register(&same_username, &[]).await.problem(409);
    assert_eq!(p["code"], "username_taken");

    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM commands WHERE status = 'failed'")
            .await,
        2
    );
}

#[actix_web::test]
async fn an_idempotency_key_replays_the_original_outcome_and_rejects_a_different_body() {
    let app = spawn_app().await;
    let key = [("idempotency-key", "signup-42")];
    let first = app.register(&user_body("1"), &key).await;
    assert_eq!(first.status, 201);
    let again = app.register(&user_body("1"), &key).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM commands").await, 1);

    let p = app.register(&user_body("2"), &key).await.problem(422);
    assert_eq!(p["type"], "/problems/idempotency-key-reused");
    assert_eq!(app.count("SELECT count(*) FROM commands").await, 1);
}

#[actix_web::test]
async fn unknown_and_malformed_user_ids() {
    let app = spawn_app().await;
    let (_, token) = app.user("1").await;
    let p = app
        .get_as(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()), &token)
        .await
        .problem(404);
    assert!(
        p["instance"]
            .as_str()
            .unwrap()
            .starts_with("/api/v1/users/")
    );
    app.get_as("/api/v1/users/not-a-uuid", &token)
        .await
        .problem(400);
    app.get("/api/v1/commands/123").await.problem(400);
    app.get(&format!("/api/v1/commands/{}", uuid::Uuid::new_v4()))
        .await
        .problem(404);
}
