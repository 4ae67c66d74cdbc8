//! Health, readiness, metrics, the supervision tree and request ids.

use crate::helpers::*;

#[actix_web::test]
async fn health_ready_and_the_supervision_tree() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status, 200);
    let ready = app.get("/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["checks"]["postgres"], "ok");
    assert_eq!(ready.json()["checks"]["rabbitmq"], "ok");

    let tree = app.get_ops("/debug/supervision").await.json();
    let text = tree.to_string();
    for name in [
        "messaging",
        "amqp-connection",
        "publisher",
        "command-consumer",
        "outbox-relay",
        "password-hasher-0",
        "registration",
        "command-dispatcher",
    ] {
        assert!(
            text.contains(&format!("\"{name}\"")),
            "{name} missing from {text}"
        );
    }
}

#[actix_web::test]
async fn per_actor_metrics_move_with_traffic() {
    let app = spawn_app().await;
    assert_eq!(app.register(&user_body("1"), &[]).await.status, 201);
    let metrics = app.metrics().await;
    for needle in [
        r#"actor_messages_total{actor="RegistrationService",message="RegisterUser",outcome="ok"} 1"#,
        r#"actor_messages_total{actor="PasswordHasher",message="HashNewPassword",outcome="ok"} 1"#,
        r#"actor_messages_total{actor="UserRepository",message="ApplyCommand",outcome="ok"} 1"#,
        r#"commands_total{status="succeeded",type="RegisterUser"} 1"#,
        "actor_message_duration_seconds_bucket",
        "actor_mailbox_wait_seconds_bucket",
        r#"actor_instances{actor="UserRepository"} 2"#,
        "amqp_connection_up 1",
        r#"http_requests_total{endpoint="/api/v1/users",method="POST",status_code="201"} 1"#,
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} not in metrics:\n{metrics}"
        );
    }
}

#[actix_web::test]
async fn request_ids_are_returned_and_generated() {
    let app = spawn_app().await;
    let given = app
        .request("GET", "/health", &[("x-request-id", "abc-123")], None)
        .await;
    assert_eq!(given.header("x-request-id").as_deref(), Some("abc-123"));
    let generated = app.get("/health").await.header("x-request-id").unwrap();
    assert_eq!(uuid::Uuid::parse_str(&generated).map(|_| ()), Ok(()));
    // Unsafe ids are replaced, not echoed.
    let evil = app
        .request("GET", "/health", &[("x-request-id", "a b\tc")], None)
        .await;
    assert_ne!(evil.header("x-request-id").as_deref(), Some("a b\tc"));
    let res = app.get("/health").await;
    assert_eq!(
        res.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        res.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
}

#[actix_web::test]
async fn cors_is_off_by_default_and_on_for_listed_origins_only() {
    let off = spawn_app().await;
    let res = off
        .request(
            "GET",
            "/health",
            &[("origin", "https://app.example.com")],
            None,
        )
        .await;
    assert!(res.header("access-control-allow-origin").is_none());

    let ns = Namespace::new().await;
    let on = spawn_role(
        &ns,
        hexactor::startup::ProcessRole::All,
        &[("ALLOWED_ORIGINS", "https://app.example.com")],
    )
    .await;
    let preflight = on
        .request(
            "OPTIONS",
            "/api/v1/users",
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let other = on
        .request(
            "GET",
            "/health",
            &[("origin", "https://evil.example.com")],
            None,
        )
        .await;
    assert_ne!(
        other.header("access-control-allow-origin").as_deref(),
        Some("https://evil.example.com")
    );
}

#[test]
fn invalid_configuration_is_one_line_naming_the_variable_and_exit_code_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hexactor"))
        .arg("serve")
        .env("PORT", "eighty")
        .output()
        .expect("hexactor runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PORT"), "{stderr}");
    let prod = std::process::Command::new(env!("CARGO_BIN_EXE_hexactor"))
        .arg("serve")
        .env("ENVIRONMENT", "production")
        .env_remove("SECRET_KEY")
        .output()
        .expect("hexactor runs");
    assert_eq!(prod.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&prod.stderr).contains("SECRET_KEY"));
}

#[actix_web::test]
async fn with_the_broker_unreachable_ready_says_so_and_commands_wait_in_the_outbox() {
    let ns = Namespace::new().await;
    // Nothing listens on port 1: the connection manager keeps retrying with backoff.
    let settings = ns.settings(&[("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:1/%2f")]);
    let app = hexactor::startup::Application::build(settings, hexactor::startup::ProcessRole::All)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.into_server());
    let client = awc::Client::default();

    let mut ready = client.get(format!("{address}/ready")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["rabbitmq"], "unavailable");
    assert_eq!(body["checks"]["postgres"], "ok");
    assert!(body["detail"].as_str().unwrap().contains("rabbitmq"));

    let res = client
        .post(format!("{address}/api/v1/users"))
        .insert_header(("prefer", "wait=1"))
        .send_json(&user_body("1"))
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        202,
        "accepted into the outbox while the broker is away"
    );
    let pool = ns.pool().await;
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(waiting, 1);
}

#[actix_web::test]
async fn metrics_and_debug_are_served_on_the_ops_port_only() {
    let app = spawn_app().await;
    assert_ne!(app.address, app.ops_address);
    for path in ["/metrics", "/debug/supervision"] {
        let public = app.get(path).await;
        public.problem(404);
        assert_eq!(
            app.get_ops(path).await.status,
            200,
            "{path} on the ops port"
        );
    }
    // Load balancers probe the public port; operators may probe either.
    for path in ["/health", "/ready"] {
        assert_eq!(app.get(path).await.status, 200, "{path} on the public port");
        assert_eq!(
            app.get_ops(path).await.status,
            200,
            "{path} on the ops port"
        );
    }
    // And the ops listener serves nothing of the API.
    assert_eq!(app.get_ops("/api-docs/openapi.json").await.status, 404);

    // A worker has only its ops listener (WORKER_PORT).
    let worker = spawn_role(
        &Namespace::new().await,
        hexactor::startup::ProcessRole::Worker,
        &[],
    )
    .await;
    assert_eq!(worker.address, worker.ops_address);
    assert!(worker.metrics().await.contains("actor_"));
    assert_eq!(worker.get("/api/v1/commands/x").await.status, 404);
}
