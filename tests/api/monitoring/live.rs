//! Every dashboard panel and alert rule queried on a live Prometheus that scrapes a running API
//! and worker under traffic.

use super::prometheus::{Prometheus, scrape_target, substitute};
use super::{dashboards, panels};
use crate::helpers::*;
use ::hexactor::startup::ProcessRole;
use lapin::BasicProperties;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Registrations, good and bad logins, reads, refreshes, updates, a password change, a
/// deactivation, a duplicate, an unknown path and a poison message.
async fn drive_traffic(api: &TestApp, namespace: &Namespace, round: usize) {
    let (user, token) = api.user(&format!("m{round}")).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let body = user_body(&format!("m{round}"));
    let email = body["email"].as_str().unwrap();
    let password = body["password"].as_str().unwrap();
    let tokens = api.login(email, password).await;
    assert_eq!(
        api.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": "wrong password 123"}),
            &[]
        )
        .await
        .status,
        401
    );
    assert_eq!(api.get_as("/api/v1/users/me", &token).await.status, 200);
    let read = api.get_as(&format!("/api/v1/users/{id}"), &token).await;
    assert_eq!(read.status, 200);
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    assert_eq!(
        api.post_json("/api/v1/auth/refresh", &refresh, &[])
            .await
            .status,
        200
    );
    let etag = read.header("etag").unwrap();
    let patch = api
        .send_as(
            "PATCH",
            &format!("/api/v1/users/{id}"),
            &token,
            Some(&json!({"first_name": "Augusta"})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert!(
        matches!(patch.status, 200 | 202),
        "update: {}",
        patch.status
    );
    // A duplicate registration: a rejected command.
    assert_eq!(api.register(&body, &[]).await.status, 409);
    let change = api
        .send_as(
            "PUT",
            &format!("/api/v1/users/{id}/password"),
            &token,
            Some(&json!({"current_password": password, "new_password": "analytical engines weave algebra"})),
            &[],
        )
        .await;
    assert!(
        matches!(change.status, 200 | 202 | 204),
        "password: {}",
        change.status
    );
    assert_eq!(api.get("/no/such/path").await.status, 404);
    if round % 2 == 1 {
        let (other, other_token) = api.user(&format!("d{round}")).await;
        let other_id = other["id"].as_str().unwrap();
        let gone = api
            .send_as(
                "DELETE",
                &format!("/api/v1/users/{other_id}"),
                &other_token,
                None,
                &[],
            )
            .await;
        assert!(
            matches!(gone.status, 200 | 202 | 204),
            "deactivate: {}",
            gone.status
        );
    }
    if round == 0 {
        let conn = amqp().await;
        let queue = format!("{}.commands.users", namespace.prefix);
        publish_raw(&conn, &queue, b"not a command", BasicProperties::default()).await;
        let _ = conn.close(200, "done".into()).await;
    }
}

#[actix_web::test]
async fn monitoring_every_panel_and_alert_query_answers_from_a_live_prometheus() {
    let namespace = Namespace::new().await;
    let fast = [("MONITOR_INTERVAL_MS", "500")];
    let api = spawn_role(&namespace, ProcessRole::Api, &fast).await;
    let worker = spawn_role(&namespace, ProcessRole::Worker, &fast).await;
    let prometheus = Prometheus::start(&[
        ("hexactor-api", scrape_target(&api)),
        ("hexactor-worker", scrape_target(&worker)),
    ]);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    eventually("Prometheus is ready", Duration::from_secs(30), async || {
        client
            .get(format!("{}/-/ready", prometheus.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    eventually("both targets are up", Duration::from_secs(30), async || {
        let up = prometheus
            .query(&client, r#"sum(up{job=~"hexactor-.*"})"#)
            .await;
        up["data"]["result"][0]["value"][1] == "2"
    })
    .await;

    // Traffic spread over time, so that every rate() sees at least two samples of a change.
    for round in 0..4 {
        drive_traffic(&api, &namespace, round).await;
        actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    }

    let mut expressions = Vec::new();
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for t in p["targets"].as_array().unwrap() {
                let title = format!("{file} / {} / {}", p["title"].as_str().unwrap(), t["refId"]);
                expressions.push((title, substitute(t["expr"].as_str().unwrap())));
            }
        }
    }
    let total = expressions.len();
    let mut missing: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut pending = expressions;
    // Poll until every panel query returns at least one sample, or the deadline passes.
    loop {
        let mut still = Vec::new();
        for (title, expr) in pending {
            let answer = prometheus.query(&client, &expr).await;
            assert_eq!(
                answer["status"], "success",
                "{title}: {expr} does not parse: {answer}"
            );
            if answer["data"]["result"]
                .as_array()
                .is_none_or(|r| r.is_empty())
            {
                still.push((title, expr));
            }
        }
        pending = still;
        if pending.is_empty() || Instant::now() > deadline {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
    missing.extend(pending.iter().map(|(t, e)| format!("{t}: {e}")));
    println!(
        "monitoring: {} of {total} dashboard panel queries returned data",
        total - missing.len()
    );
    assert!(
        missing.is_empty(),
        "panel queries without data:\n{}",
        missing.join("\n")
    );

    // The Actors dashboard's variables find values.
    for label in ["instance", "actor"] {
        let values = prometheus
            .get(
                &client,
                &format!("/api/v1/label/{label}/values"),
                &[("match[]", r#"actor_instances{job=~"hexactor-.*"}"#)],
            )
            .await;
        assert!(
            values["data"].as_array().is_some_and(|v| !v.is_empty()),
            "variable ${label} has no values: {values}"
        );
    }

    // Every alert rule, as Prometheus parsed and evaluated it: healthy, and its query runs.
    let rules = prometheus.get(&client, "/api/v1/rules", &[]).await;
    let rules: Vec<Value> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .collect();
    assert!(rules.len() >= 10, "alert rules loaded: {}", rules.len());
    for rule in &rules {
        let name = rule["name"].as_str().unwrap();
        assert_ne!(rule["health"], "err", "{name}: {}", rule["lastError"]);
        let answer = prometheus
            .query(&client, rule["query"].as_str().unwrap())
            .await;
        assert_eq!(answer["status"], "success", "{name}: {answer}");
    }
    println!("monitoring: {} alert rules evaluated", rules.len());
    // The poison message is in the DLQ: the depth-based alert's condition holds.
    let dlq = prometheus
        .query(
            &client,
            r#"max by (queue) (queue_depth{queue=~".*\\.dlq"}) > 0"#,
        )
        .await;
    assert!(
        dlq["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "the DLQ depth does not show the poison message: {dlq}"
    );
    drop(prometheus);
    drop((api, worker));
}
