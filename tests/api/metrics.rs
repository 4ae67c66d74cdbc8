//! The metric names the model service declared, fed by real traffic; series that start at 0;
//! `queue_depth` from passive declares; the database pool gauges.

use crate::helpers::*;
use ::hexactor::startup::ProcessRole;
use lapin::BasicProperties;
use std::time::Duration;

const FAST_MONITOR: &[(&str, &str)] = &[("MONITOR_INTERVAL_MS", "200")];

async fn scrape(app: &TestApp) -> String {
    app.metrics().await
}

/// The value of the sample `series` (name plus exact label set), if exported.
pub(crate) fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

#[actix_web::test]
async fn a_fresh_process_shows_zero_not_no_data() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, ProcessRole::All, FAST_MONITOR).await;
    let metrics = scrape(&app).await;
    for series in [
        r#"actor_restarts_total{actor="UserRepository",reason="panic"}"#,
        r#"actor_restarts_total{actor="QueueConsumer",reason="error"}"#,
        r#"supervisor_escalations_total{supervisor="root"}"#,
        r#"commands_total{status="failed",type="RegisterUser"}"#,
        r#"command_processing_total{command_type="DeactivateUser",status="succeeded"}"#,
        r#"user_operations_total{operation="change_password",status="failure"}"#,
        r#"query_processing_total{query_type="list_users",status="failure"}"#,
        r#"application_errors_total{component="worker",error_type="poison"}"#,
        r#"auth_attempts_total{status="locked"}"#,
        r#"db_operations_total{operation="upsert",status="failure",table="login_throttle"}"#,
        r#"amqp_published_total{outcome="nacked"}"#,
        "jwt_tokens_issued_total",
    ] {
        assert_eq!(
            sample(&metrics, series),
            Some(0.0),
            "{series} in\n{metrics}"
        );
    }
    let consumed = format!(
        r#"messages_consumed_total{{queue="{}.commands.users",status="dead_letter"}}"#,
        ns.prefix
    );
    eventually(
        "consumer series exist",
        Duration::from_secs(10),
        async || sample(&scrape(&app).await, &consumed) == Some(0.0),
    )
    .await;
}

#[actix_web::test]
async fn the_model_metric_names_are_fed_by_traffic() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, ProcessRole::All, FAST_MONITOR).await;
    let (user, token) = app.user("1").await;
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get_as(&format!("/api/v1/users/{id}"), &token)
            .await
            .status,
        200
    );
    let bad = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"email": "nobody@example.com", "password": "not the password"}),
            &[],
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(app.get("/no/such/path/42").await.status, 404);

    let p = &ns.prefix;
    let expected = [
        r#"http_requests_total{endpoint="/api/v1/users",method="POST",status_code="201"}"#
            .to_owned(),
        r#"http_requests_total{endpoint="/api/v1/users/{id}",method="GET",status_code="200"}"#
            .to_owned(),
        r#"http_requests_total{endpoint="unmatched",method="GET",status_code="404"}"#.to_owned(),
        r#"http_request_duration_seconds_count{endpoint="/api/v1/auth/login",method="POST"}"#
            .to_owned(),
        r#"user_operations_total{operation="register",status="success"}"#.to_owned(),
        r#"auth_attempts_total{status="success"}"#.to_owned(),
        r#"auth_attempts_total{status="invalid"}"#.to_owned(),
        "jwt_tokens_issued_total".to_owned(),
        r#"db_operations_total{operation="transaction",status="success",table="users"}"#.to_owned(),
        r#"db_operation_duration_seconds_count{operation="insert",table="commands"}"#.to_owned(),
        format!(r#"messages_published_total{{queue="{p}.commands",status="confirmed"}}"#),
        format!(r#"messages_consumed_total{{queue="{p}.commands.users",status="ack"}}"#),
        r#"command_processing_total{command_type="RegisterUser",status="succeeded"}"#.to_owned(),
        r#"query_processing_total{query_type="get_user",status="success"}"#.to_owned(),
        "active_users_total".to_owned(),
    ];
    eventually(
        "every fed series is ≥ 1",
        Duration::from_secs(10),
        async || {
            let metrics = scrape(&app).await;
            expected
                .iter()
                .all(|s| sample(&metrics, s).is_some_and(|v| v >= 1.0))
        },
    )
    .await;
    let metrics = scrape(&app).await;
    // Never the raw path: the id and the unknown path must not become label values.
    assert!(!metrics.contains(&id), "a user id leaked into a label");
    assert!(
        !metrics.contains("/no/such/path"),
        "a raw path leaked into a label"
    );
    // This scrape is a request in progress itself.
    assert!(sample(&metrics, "http_requests_in_progress").is_some_and(|v| v >= 1.0));
    assert!(sample(&metrics, "db_connections_active").is_some());
    assert!(sample(&metrics, "db_pool_connections_idle").is_some());
    assert!(sample(&metrics, "db_pool_acquire_seconds_count").is_some_and(|v| v >= 1.0));
    assert_eq!(
        sample(
            &metrics,
            r#"application_errors_total{component="http",error_type="unavailable"}"#
        ),
        Some(0.0)
    );
}

#[actix_web::test]
async fn queue_depth_follows_the_dead_letter_queue() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, ProcessRole::All, FAST_MONITOR).await;
    let dlq = format!("{}.commands.users.dlq", ns.prefix);
    let series = format!(r#"queue_depth{{queue="{dlq}"}}"#);
    eventually(
        "the DLQ is watched at 0",
        Duration::from_secs(10),
        async || sample(&scrape(&app).await, &series) == Some(0.0),
    )
    .await;
    let conn = amqp().await;
    for _ in 0..3 {
        publish_raw(&conn, &dlq, b"{}", BasicProperties::default()).await;
    }
    eventually("queue_depth shows 3", Duration::from_secs(10), async || {
        sample(&scrape(&app).await, &series) == Some(3.0)
    })
    .await;
    for _ in 0..3 {
        assert!(take_message(&conn, &dlq).await.is_some());
    }
    eventually(
        "queue_depth back to 0",
        Duration::from_secs(10),
        async || sample(&scrape(&app).await, &series) == Some(0.0),
    )
    .await;
    let _ = conn.close(200, "done".into()).await;
    let retry = format!(
        r#"queue_depth{{queue="{}.commands.users.retry.100ms"}}"#,
        ns.prefix
    );
    assert_eq!(sample(&scrape(&app).await, &retry), Some(0.0));
}
