//! Role changes: admins promote and demote through a command; the last active admin stays.

use crate::helpers::*;
use serde_json::json;

async fn set_role(
    app: &TestApp,
    token: &str,
    id: &str,
    role: &str,
    headers: &[(&str, &str)],
) -> Reply {
    app.send_as(
        "PUT",
        &format!("/api/v1/users/{id}/role"),
        token,
        Some(&json!({ "role": role })),
        headers,
    )
    .await
}

async fn my_id(app: &TestApp, token: &str) -> String {
    app.get_as("/api/v1/users/me", token).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn an_admin_promotes_and_demotes_and_each_change_is_an_event() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (user, user_token) = app.user("1").await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(user["role"], "user");
    app.get_as("/api/v1/users", &user_token).await.problem(403);

    let promoted = set_role(&app, &admin, id, "admin", &[]).await;
    assert_eq!(
        promoted.status,
        200,
        "{}",
        String::from_utf8_lossy(&promoted.body)
    );
    assert_eq!(promoted.json()["role"], "admin");
    // The user's existing token now carries the new role (sessions read it from the database).
    assert_eq!(app.get_as("/api/v1/users", &user_token).await.status, 200);

    let demoted = set_role(&app, &admin, id, "user", &[]).await;
    assert_eq!(demoted.status, 200);
    assert_eq!(demoted.json()["role"], "user");
    app.get_as("/api/v1/users", &user_token).await.problem(403);

    let events: Vec<serde_json::Value> = sqlx::query_scalar::<_, Vec<u8>>(
        "SELECT payload FROM outbox WHERE routing_key = 'users.user.role-changed' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .iter()
    .map(|p| serde_json::from_slice(p).unwrap())
    .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["type"], "UserRoleChanged");
    assert_eq!(events[0]["user_id"], id);
    assert_eq!(
        (
            events[0]["previous_role"].as_str(),
            events[0]["role"].as_str()
        ),
        (Some("user"), Some("admin"))
    );
    assert_eq!(events[1]["role"], "user");

    // Asynchronously, like every other command.
    let accepted = set_role(&app, &admin, id, "admin", &[("prefer", "respond-async")]).await;
    assert_eq!(accepted.status, 202);
    let command = app
        .wait_for_command(&accepted.header("location").unwrap())
        .await;
    assert_eq!(command["status"], "succeeded", "{command}");
    assert_eq!(command["type"], "ChangeRole");
}

#[actix_web::test]
async fn only_admins_change_roles_and_bad_input_is_rejected() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (user, user_token) = app.user("1").await;
    let id = user["id"].as_str().unwrap();
    // A user may not promote themselves.
    set_role(&app, &user_token, id, "admin", &[])
        .await
        .problem(403);
    let p = set_role(&app, &admin, id, "root", &[]).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "role");
    set_role(
        &app,
        &admin,
        &uuid::Uuid::now_v7().to_string(),
        "admin",
        &[],
    )
    .await
    .problem(404);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE role = 'admin'")
            .await,
        1
    );
}

#[actix_web::test]
async fn the_last_active_admin_can_be_neither_demoted_nor_deactivated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let admin_id = my_id(&app, &admin).await;
    let p = set_role(&app, &admin, &admin_id, "user", &[])
        .await
        .problem(409);
    assert_eq!(p["type"], "/problems/last-admin", "{p}");
    let p = app
        .send_as(
            "DELETE",
            &format!("/api/v1/users/{admin_id}"),
            &admin,
            None,
            &[],
        )
        .await
        .problem(409);
    assert_eq!(p["type"], "/problems/last-admin", "{p}");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE role = 'admin' AND is_active")
            .await,
        1
    );

    // With a second admin, either may go (a deactivated admin no longer counts).
    let (user, _) = app.user("1").await;
    let other = user["id"].as_str().unwrap();
    assert_eq!(
        set_role(&app, &admin, other, "admin", &[]).await.status,
        200
    );
    assert_eq!(
        app.send_as(
            "DELETE",
            &format!("/api/v1/users/{other}"),
            &admin,
            None,
            &[]
        )
        .await
        .status,
        204
    );
    set_role(&app, &admin, &admin_id, "user", &[])
        .await
        .problem(409);
}

/// What became of a demotion sent with `respond-async`: the command's final state, or
/// `{"status": "forbidden"}` when the request was refused before any command was recorded.
async fn demotion_outcome(app: &TestApp, reply: Reply) -> serde_json::Value {
    if reply.status == 403 {
        return json!({ "status": "forbidden" });
    }
    let location = reply
        .header("location")
        .unwrap_or_else(|| panic!("{} {}", reply.status, String::from_utf8_lossy(&reply.body)));
    app.wait_for_command(&location).await
}

#[actix_web::test]
async fn concurrent_demotions_of_the_last_two_admins_cannot_both_succeed() {
    let app = spawn_app().await;
    for round in 0..5 {
        // Two active admins: the bootstrap one (first round only) and a promoted user.
        let admin = if round == 0 {
            app.admin().await
        } else {
            app.login("root@example.com", ADMIN_PASSWORD).await["access_token"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (user, _) = app.user(&round.to_string()).await;
        let other = user["id"].as_str().unwrap().to_owned();
        let admin_id = my_id(&app, &admin).await;
        assert_eq!(
            set_role(&app, &admin, &other, "admin", &[]).await.status,
            200
        );
        let async_ = [("prefer", "respond-async")];
        let (a, b) = futures_util::future::join(
            set_role(&app, &admin, &other, "user", &async_),
            set_role(&app, &admin, &admin_id, "user", &async_),
        )
        .await;
        let (a, b) =
            futures_util::future::join(demotion_outcome(&app, a), demotion_outcome(&app, b)).await;
        let mut outcomes = [a["status"].as_str().unwrap(), b["status"].as_str().unwrap()];
        outcomes.sort();
        // Exactly one demotion happens. The other fails in the worker (`last_admin`), or, when the
        // self-demotion was applied before the other request was even authorised, that request
        // is refused at the door (its caller is no longer an admin): either way one admin is left.
        let failed = if a["status"] == "succeeded" { &b } else { &a };
        assert_eq!(
            outcomes.iter().filter(|o| **o == "succeeded").count(),
            1,
            "round {round}: {a} {b}"
        );
        if failed["status"] == "forbidden" {
            assert_eq!(
                b["status"], "succeeded",
                "only the other demotion can lose its caller's role: {a} {b}"
            );
        } else {
            assert_eq!(failed["status"], "failed", "{failed}");
            assert_eq!(failed["error"]["code"], "last_admin", "{failed}");
        }
        assert_eq!(
            app.count("SELECT count(*) FROM users WHERE role = 'admin' AND is_active")
                .await,
            1,
            "round {round}"
        );
        // Put things back: the bootstrap admin is the admin again for the next round.
        if a["status"] == "succeeded" {
            // `other` was demoted: root is still admin.
        } else {
            sqlx::query("UPDATE users SET role = 'admin' WHERE email = 'root@example.com'")
                .execute(&app.pool)
                .await
                .unwrap();
            sqlx::query("UPDATE users SET role = 'user' WHERE id = $1")
                .bind(uuid::Uuid::parse_str(&other).unwrap())
                .execute(&app.pool)
                .await
                .unwrap();
        }
    }
}
