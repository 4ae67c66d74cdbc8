//! The events feed: public envelopes in commit order with per-subject sequences, a cursor that
//! misses nothing under concurrent commits, filters, admin only, and retention.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use serde_json::{Value, json};
use std::time::Duration;

async fn feed(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app.get_as(&format!("/api/v1/events{query}"), token).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

#[actix_web::test]
async fn the_feed_serves_public_envelopes_in_order_with_a_sequence_per_subject() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ada, ada_token) = app.user("1").await;
    let (grace, _) = app.user("2").await;
    let ada_id = ada["id"].as_str().unwrap();
    let promoted = app
        .send_as(
            "PUT",
            &format!("/api/v1/users/{ada_id}/role"),
            &admin,
            Some(&json!({ "role": "admin" })),
            &[],
        )
        .await;
    assert_eq!(promoted.status, 200);

    let page = feed(&app, &admin, "").await;
    let of = |subject: &str| -> Vec<(String, i64)> {
        items(&page)
            .iter()
            .filter(|e| e["subject"] == subject)
            .map(|e| {
                (
                    e["type"].as_str().unwrap().to_owned(),
                    e["sequence"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        of(ada_id),
        [("user.created".into(), 1), ("user.role_changed".into(), 2)],
        "{page}"
    );
    assert_eq!(
        of(grace["id"].as_str().unwrap()),
        [("user.created".into(), 1)]
    );
    let created = &items(&page)
        .iter()
        .find(|e| e["subject"] == ada_id)
        .unwrap();
    assert_eq!(created["data"]["email"], ada["email"], "{created}");
    for envelope_field in ["type", "event_id", "occurred_at"] {
        assert!(created["data"].get(envelope_field).is_none(), "{created}");
    }
    assert!(uuid::Uuid::parse_str(created["id"].as_str().unwrap()).is_ok());
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));
    // Internal events (a verification mail's request) stay inside; no secret leaves.
    let body = page.to_string();
    assert!(!body.contains("email_verification_requested") && !body.contains("request_id"));
    assert!(!body.contains("password"), "{body}");

    // Caught up: the same cursor again, then exactly what happened since.
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let caught_up = feed(&app, &admin, &format!("?after={cursor}")).await;
    assert!(items(&caught_up).is_empty());
    assert_eq!(caught_up["next_cursor"], cursor.as_str());
    let deactivated = app
        .send_as(
            "DELETE",
            &format!("/api/v1/users/{}", grace["id"].as_str().unwrap()),
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(deactivated.status, 204);
    let next = feed(&app, &admin, &format!("?after={cursor}")).await;
    assert_eq!(items(&next).len(), 1, "{next}");
    assert_eq!(items(&next)[0]["type"], "user.deactivated");
    assert_eq!(items(&next)[0]["sequence"], 2);

    let only = feed(
        &app,
        &admin,
        "?types=user.role_changed,user.deactivated&limit=1",
    )
    .await;
    assert_eq!(items(&only).len(), 1);
    assert_eq!(items(&only)[0]["type"], "user.role_changed");

    let promoted_reads = app.get_as("/api/v1/events", &ada_token).await;
    assert_eq!(promoted_reads.status, 200, "an admin since the promotion");
    let (_, user) = app.user("3").await;
    app.get_as("/api/v1/events", &user).await.problem(403);
    for bad in [
        "?after=42",
        "?after=ev_x",
        "?types=user.nope",
        "?limit=0",
        "?limit=101",
    ] {
        app.get_as(&format!("/api/v1/events{bad}"), &admin)
            .await
            .problem(400);
    }
}

#[actix_web::test]
async fn a_reader_following_the_cursor_during_concurrent_commits_sees_each_event_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    const USERS: usize = 24;
    let registrations = futures_util::future::join_all((0..USERS).map(|n| {
        let body = user_body(&format!("c{n}"));
        let app = &app;
        async move { app.register(&body, &[]).await.status }
    }));
    let reader = async {
        let (mut cursor, mut seen) = ("ev_0".to_owned(), Vec::<String>::new());
        eventually(
            "every registration is read",
            Duration::from_secs(60),
            async || {
                let page = feed(&app, &admin, &format!("?after={cursor}&limit=5")).await;
                for e in items(&page) {
                    seen.push(e["id"].as_str().unwrap().to_owned());
                }
                cursor = page["next_cursor"].as_str().unwrap().to_owned();
                seen.len() >= USERS
            },
        )
        .await;
        seen
    };
    let (statuses, seen) = futures_util::future::join(registrations, reader).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let mut ids: Vec<&String> = seen.iter().collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), USERS, "each event exactly once: {seen:?}");
    let stored = "SELECT count(*) FROM event_log WHERE type = 'user.created'";
    assert_eq!(app.count(stored).await, USERS as i64);
}

#[actix_web::test]
async fn events_older_than_the_retention_are_pruned() {
    let ns = Namespace::new().await;
    let retention = [("EVENT_RETENTION_DAYS", "1")];
    let app = spawn_role(&ns, ProcessRole::All, &retention).await;
    app.user("old").await;
    app.user("new").await;
    sqlx::query(
        "UPDATE event_log SET recorded_at = now() - interval '2 days'
         WHERE data->>'username' = 'user_old'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // A replica starting prunes at once (then every ten minutes).
    let _replica = spawn_role(&ns, ProcessRole::Api, &retention).await;
    eventually(
        "the old event is pruned",
        Duration::from_secs(20),
        async || app.count("SELECT count(*) FROM event_log").await == 1,
    )
    .await;
    let kept = "SELECT count(*) FROM event_log WHERE data->>'username' = 'user_new'";
    assert_eq!(app.count(kept).await, 1);
}

#[test]
fn docs_events_md_documents_every_public_type() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/events.md"))
        .expect("docs/events.md");
    let missing: Vec<_> = hexactor::application::event_feed::public_types()
        .filter(|t| !docs.contains(&format!("### `{t}`")))
        .collect();
    assert!(missing.is_empty(), "docs/events.md lacks {missing:?}");
}
