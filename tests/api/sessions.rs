//! Session management: a user lists their sessions and ends one; the end reaches every API
//! replica at once (PostgreSQL LISTEN/NOTIFY), not after the replica's cache expires.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use serde_json::{Value, json};
use std::time::Duration;

async fn login_with_agent(app: &TestApp, email: &str, agent: &str) -> Value {
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": PASSWORD }),
            &[("user-agent", agent)],
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

fn token<'a>(tokens: &'a Value, field: &str) -> &'a str {
    tokens[field].as_str().unwrap()
}

async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let res = app.get_as("/api/v1/users/me/sessions", access).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json().as_array().unwrap().clone()
}

#[actix_web::test]
async fn a_user_lists_their_sessions_and_ends_one() {
    let app = spawn_app().await;
    app.user("1").await; // one session already, from the helper's login
    let laptop = login_with_agent(&app, "user1@example.com", "Laptop/1.0").await;
    let phone = login_with_agent(&app, "user1@example.com", "Phone/2.0").await;

    let listed = sessions(&app, token(&laptop, "access_token")).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let current: Vec<_> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{listed:?}");
    assert_eq!(current[0]["user_agent"], "Laptop/1.0");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert!(current[0]["created_at"].is_string() && current[0]["last_used_at"].is_string());
    let phone_session = listed
        .iter()
        .find(|s| s["user_agent"] == "Phone/2.0")
        .expect("the phone's session is listed");
    assert_eq!(phone_session["current"], false);
    let phone_id = phone_session["id"].as_str().unwrap();

    // A refresh records where the session was used from.
    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": token(&phone, "refresh_token") }),
            &[("user-agent", "Phone/2.1")],
        )
        .await;
    assert_eq!(refreshed.status, 200);
    let phone = refreshed.json();
    let listed = sessions(&app, token(&laptop, "access_token")).await;
    let phone_session = listed.iter().find(|s| s["id"] == phone_id).unwrap();
    assert_eq!(phone_session["user_agent"], "Phone/2.1");

    // An authenticated request counts as use (at most once a minute): age the session, then use it.
    sqlx::query("UPDATE auth_sessions SET last_used_at = now() - interval '1 hour' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(phone_id).unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.get_as("/api/v1/users/me", token(&phone, "access_token"))
            .await
            .status,
        200
    );
    let recent: bool = sqlx::query_scalar(
        "SELECT last_used_at > now() - interval '1 minute' FROM auth_sessions WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(phone_id).unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(recent, "the request was recorded as use");

    let path = format!("/api/v1/users/me/sessions/{phone_id}");
    let ended = app
        .send_as("DELETE", &path, token(&laptop, "access_token"), None, &[])
        .await;
    assert_eq!(
        ended.status,
        204,
        "{}",
        String::from_utf8_lossy(&ended.body)
    );
    app.get_as("/api/v1/users/me", token(&phone, "access_token"))
        .await
        .problem(401);
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": token(&phone, "refresh_token") }),
        &[],
    )
    .await
    .problem(401);
    let listed = sessions(&app, token(&laptop, "access_token")).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|s| s["id"] != phone_id));
    // Ending it again, or a session that is someone else's, is a 404.
    app.send_as("DELETE", &path, token(&laptop, "access_token"), None, &[])
        .await
        .problem(404);
    let (_, other) = app.user("2").await;
    let laptop_id = listed.iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.send_as(
        "DELETE",
        &format!("/api/v1/users/me/sessions/{laptop_id}"),
        &other,
        None,
        &[],
    )
    .await
    .problem(404);
    assert_eq!(
        app.get_as("/api/v1/users/me", token(&laptop, "access_token"))
            .await
            .status,
        200,
        "someone else's attempt did not end it"
    );
    app.send_as(
        "DELETE",
        "/api/v1/users/me/sessions/nope",
        &other,
        None,
        &[],
    )
    .await
    .problem(400);
}

/// Both replicas trust a session check for a minute: only the revocation notice can make the
/// other replica refuse the token within the second this test allows.
#[actix_web::test]
async fn ending_a_session_revokes_it_on_every_replica_at_once() {
    let ns = Namespace::new().await;
    let cached = [("SESSION_CACHE_MS", "60000")];
    let a = spawn_role(&ns, ProcessRole::All, &cached).await;
    let b = spawn_role(&ns, ProcessRole::Api, &cached).await;
    a.user("1").await;
    let keeper = a.login("user1@example.com", PASSWORD).await;
    let victim = a.login("user1@example.com", PASSWORD).await;
    let victim_access = token(&victim, "access_token");
    // B checks the session and caches "valid".
    assert_eq!(
        b.get_as("/api/v1/users/me", victim_access).await.status,
        200
    );
    let victim_id = sessions(&a, victim_access)
        .await
        .into_iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = a
        .send_as(
            "DELETE",
            &format!("/api/v1/users/me/sessions/{victim_id}"),
            token(&keeper, "access_token"),
            None,
            &[],
        )
        .await;
    assert_eq!(ended.status, 204);
    let since = std::time::Instant::now();
    eventually(
        "replica B refuses the ended session's token",
        Duration::from_secs(1),
        async || b.get_as("/api/v1/users/me", victim_access).await.status == 401,
    )
    .await;
    eprintln!(
        "cross-replica revocation seen by B after {:?}",
        since.elapsed()
    );
    b.get_as("/api/v1/users/me", victim_access)
        .await
        .problem(401);

    // A revocation committed by a worker (deactivation) reaches B the same way.
    let keeper_access = token(&keeper, "access_token");
    assert_eq!(
        b.get_as("/api/v1/users/me", keeper_access).await.status,
        200
    );
    let me = b.get_as("/api/v1/users/me", keeper_access).await.json();
    let deactivated = a
        .send_as(
            "DELETE",
            &format!("/api/v1/users/{}", me["id"].as_str().unwrap()),
            keeper_access,
            None,
            &[],
        )
        .await;
    assert_eq!(deactivated.status, 204);
    eventually(
        "replica B refuses the deactivated user's token",
        Duration::from_secs(1),
        async || b.get_as("/api/v1/users/me", keeper_access).await.status == 401,
    )
    .await;
}
