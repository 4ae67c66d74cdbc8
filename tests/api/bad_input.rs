//! Bad input gets a clear 4xx problem+json, never a 500, and creates nothing.

use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn malformed_bodies_are_rejected_with_problem_json() {
    let app = spawn_app().await;
    let json_ct = [("content-type", "application/json")];

    let p = app
        .request(
            "POST",
            "/api/v1/users",
            &json_ct,
            Some(b"{\"email\": ".to_vec()),
        )
        .await
        .problem(400);
    assert!(
        p["detail"].as_str().unwrap().contains("not valid JSON"),
        "{p}"
    );

    app.request(
        "POST",
        "/api/v1/users",
        &[("content-type", "text/plain")],
        Some(b"hello".to_vec()),
    )
    .await
    .problem(415);
    app.request(
        "POST",
        "/api/v1/users",
        &[],
        Some(serde_json::to_vec(&user_body("1")).unwrap()),
    )
    .await
    .problem(415);

    let huge = json!({ "email": "a@b.co", "username": "x".repeat(70 * 1024) });
    app.request(
        "POST",
        "/api/v1/users",
        &json_ct,
        Some(serde_json::to_vec(&huge).unwrap()),
    )
    .await
    .problem(413);

    let missing =
        json!({ "email": "a@example.com", "username": "abc", "first_name": "A", "last_name": "B" });
    let p = app.register(&missing, &[]).await.problem(422);
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{p}"
    );

    let mistyped = json!({ "email": 42, "username": "abc", "first_name": "A", "last_name": "B", "password": "x" });
    app.register(&mistyped, &[]).await.problem(422);

    let non_utf8 = b"{\"email\": \"\xff\xfe\", \"username\": \"abc\"}".to_vec();
    app.request("POST", "/api/v1/users", &json_ct, Some(non_utf8))
        .await
        .problem(400);

    assert_eq!(app.count("SELECT count(*) FROM commands").await, 0);
}

#[actix_web::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let body = json!({
        "email": "not-an-email",
        "username": "a b",
        "first_name": "   ",
        "last_name": "x".repeat(101),
        "password": "short",
    });
    let p = app.register(&body, &[]).await.problem(422);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["email", "username", "first_name", "last_name", "password"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    // 1,025 bytes is one over the limit (bcrypt's 72 bytes is none under Argon2id).
    let mut long = user_body("1");
    long["password"] = json!("a".repeat(1025));
    let p = app.register(&long, &[]).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "password");
    assert_eq!(app.count("SELECT count(*) FROM commands").await, 0);
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_are_problems_too() {
    let app = spawn_app().await;
    app.get("/nope").await.problem(404);
    app.request(
        "DELETE",
        "/api/v1/commands/00000000-0000-0000-0000-000000000000",
        &[],
        None,
    )
    .await
    .problem(405);
    app.request("PATCH", "/api/v1/users", &[], None)
        .await
        .problem(405);
    let p = app.get("/api/v1/users").await.problem(401);
    assert!(p["detail"].as_str().unwrap().contains("bearer"));
    let bad_key = "x".repeat(300);
    app.register(&user_body("1"), &[("idempotency-key", &bad_key)])
        .await
        .problem(400);
}
