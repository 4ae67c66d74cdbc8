//! Operating the messaging: `/ready` per role while the broker is away, and `hexactor dlq`
//! (list, show, replay and purge dead letters) against the real broker.

use crate::helpers::*;
use ::actors::rabbit::headers::{int, text, with_headers};
use hexactor::cli::dlq;
use hexactor::startup::ProcessRole;
use lapin::BasicProperties;
use std::time::Duration;

#[actix_web::test]
async fn dead_letters_are_listed_shown_replayed_after_a_confirm_and_purged() {
    let ns = Namespace::new().await;
    let queue = ns.names().command_queue;
    let dlq_name = dead_letter_queue(&queue);
    let url = rabbitmq_url();

    // A valid command that died for a transient reason: registered through an API with no
    // worker running, taken off the queue and dead-lettered the way a worker does after its
    // last attempt.
    let api = spawn_role(&ns, ProcessRole::Api, &[]).await;
    let res = api
        .register(&user_body("dlq"), &[("prefer", "respond-async")])
        .await;
    assert_eq!(res.status, 202);
    let location = res.header("location").unwrap();
    let conn = amqp().await;
    let mut command = None;
    eventually(
        "the command reaches its queue",
        Duration::from_secs(10),
        async || {
            command = take_message(&conn, &queue).await;
            command.is_some()
        },
    )
    .await;
    let command = command.unwrap().delivery;
    let command_id = command
        .properties
        .message_id()
        .as_ref()
        .unwrap()
        .to_string();
    let dead = with_headers(
        command.properties.clone(),
        &[
            ("x-dlq-reason", text("retries_exhausted")),
            ("x-dlq-error", text("database unavailable")),
            ("x-dlq-attempts", int(5)),
            ("x-dlq-first-failure", int(1_700_000_000_000)),
            ("x-dlq-last-failure", int(1_700_000_060_000)),
            ("x-dlq-original-queue", text(&queue)),
            ("x-attempts", int(5)),
        ],
    );
    publish_raw(&conn, &dlq_name, &command.data, dead).await;

    // And a poison message, dead-lettered by a real worker.
    let _worker = spawn_role(&ns, ProcessRole::Worker, &[]).await;
    let poison = BasicProperties::default().with_message_id("poison-1".into());
    publish_raw(&conn, &queue, b"this is not json", poison).await;

    let mut letters = Vec::new();
    eventually(
        "both dead letters are listed",
        Duration::from_secs(10),
        async || {
            letters = dlq::list(&url, &dlq_name, None, 100).await.unwrap();
            letters.len() == 2
        },
    )
    .await;
    let poison = letters
        .iter()
        .find(|l| l.message_id.as_deref() == Some("poison-1"))
        .unwrap();
    assert_eq!(poison.reason.as_deref(), Some("undecodable"));
    assert_eq!(poison.original_queue.as_deref(), Some(queue.as_str()));
    assert_eq!(poison.attempts, Some(1));
    assert!(poison.first_failure.is_some() && poison.last_failure.is_some());
    assert!(poison.error.is_some());
    let died = letters
        .iter()
        .find(|l| l.message_id.as_deref() == Some(command_id.as_str()))
        .unwrap();
    assert_eq!(died.reason.as_deref(), Some("retries_exhausted"));
    assert_eq!(died.attempts, Some(5));
    assert_eq!(died.message_type.as_deref(), Some("RegisterUser"));

    // The same through the binary, with the default queue (<AMQP_PREFIX>.commands.users.dlq).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hexactor"))
        .args(["dlq", "list"])
        .env("AMQP_PREFIX", &ns.prefix)
        .env("RABBITMQ_URL", &url)
        .output()
        .expect("hexactor dlq list runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 dead letter(s)"), "{stdout}");
    assert!(
        stdout.contains("poison-1") && stdout.contains("reason=undecodable"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&command_id) && stdout.contains("error: database unavailable"),
        "{stdout}"
    );

    // `show` prints one in full, the password hash redacted.
    let shown = dlq::show(&url, &dlq_name, Some(&command_id), 10)
        .await
        .unwrap();
    assert_eq!(shown.len(), 1);
    assert!(
        shown[0].contains("x-dlq-reason: retries_exhausted"),
        "{}",
        shown[0]
    );
    assert!(
        shown[0].contains("<redacted>") && !shown[0].contains("$2b$"),
        "{}",
        shown[0]
    );

    // Looking does not take anything away.
    assert_eq!(
        dlq::list(&url, &dlq_name, None, 100).await.unwrap().len(),
        2
    );
    // Replaying an unknown id replays nothing and keeps everything.
    let none = dlq::replay(&url, &dlq_name, Some("no-such-id"), 100)
        .await
        .unwrap();
    assert_eq!(none, dlq::ReplayReport::default());

    // Replay the command: it goes back to its queue, the worker applies it, and only it left the DLQ.
    let report = dlq::replay(&url, &dlq_name, Some(&command_id), 100)
        .await
        .unwrap();
    assert_eq!(report.replayed, vec![command_id.clone()]);
    assert!(report.kept.is_empty());
    assert_eq!(api.wait_for_command(&location).await["status"], "succeeded");
    assert_eq!(api.count("SELECT count(*) FROM users").await, 1);
    let left = dlq::list(&url, &dlq_name, None, 100).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message_id.as_deref(), Some("poison-1"));

    // Replaying poison only dead-letters it again (with a replay count); purge removes it.
    let report = dlq::replay(&url, &dlq_name, Some("poison-1"), 100)
        .await
        .unwrap();
    assert_eq!(report.replayed, vec!["poison-1".to_owned()]);
    eventually(
        "the poison is back in the DLQ",
        Duration::from_secs(10),
        async || dlq::list(&url, &dlq_name, None, 100).await.unwrap().len() == 1,
    )
    .await;
    let shown = dlq::show(&url, &dlq_name, Some("poison-1"), 10)
        .await
        .unwrap();
    assert!(shown[0].contains("x-dlq-replays: 1"), "{}", shown[0]);
    assert_eq!(
        dlq::purge(&url, &dlq_name, Some("poison-1")).await.unwrap(),
        1
    );
    assert!(
        dlq::list(&url, &dlq_name, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn without_the_broker_an_api_is_degraded_and_a_worker_is_not_ready() {
    let ns = Namespace::new().await;
    // Nothing listens on port 1: the connection manager keeps retrying with backoff.
    let unreachable = [("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:1/%2f")];
    let mut addresses = Vec::new();
    for role in [ProcessRole::Api, ProcessRole::Worker] {
        let app = hexactor::startup::Application::build(ns.settings(&unreachable), role)
            .await
            .unwrap();
        addresses.push(format!("http://127.0.0.1:{}/ready", app.port()));
        actix_web::rt::spawn(app.into_server());
    }
    let client = awc::Client::default();

    // The API still takes commands (they wait in the outbox, 202): degraded, but ready.
    let mut api = client.get(&addresses[0]).send().await.unwrap();
    assert_eq!(api.status().as_u16(), 200);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["rabbitmq"], "degraded");
    assert_eq!(body["checks"]["postgres"], "ok");

    // A worker cannot do anything without the broker.
    let mut worker = client.get(&addresses[1]).send().await.unwrap();
    assert_eq!(worker.status().as_u16(), 503);
    let body: serde_json::Value = worker.json().await.unwrap();
    assert_eq!(body["checks"]["rabbitmq"], "unavailable");
    assert!(
        body["detail"].as_str().unwrap().contains("rabbitmq"),
        "{body}"
    );
}

#[actix_web::test]
async fn the_traffic_generator_drives_every_operation_and_its_poison_reaches_the_dlq() {
    use hexactor::cli::traffic::{TrafficArgs, run};
    let namespace = Namespace::new().await;
    let app = spawn_role(&namespace, hexactor::startup::ProcessRole::All, &[]).await;
    let args = TrafficArgs {
        url: app.address.clone(),
        duration: std::time::Duration::from_secs(4),
        rate: 40.0,
        poison: 2,
        concurrency: 16,
    };
    let report = run(&namespace.settings(&[]), args)
        .await
        .expect("traffic runs");
    assert_eq!(report.server_errors, 0, "{report:?}");
    for op in [
        "register",
        "login",
        "read",
        "update",
        "bad login",
        "unknown path",
    ] {
        let (sent, _) = report.by_operation.get(op).copied().unwrap_or_default();
        assert!(sent > 0, "{op} never sent: {report:?}");
    }
    for op in ["register", "login", "read"] {
        let (_, ok) = report.by_operation[op];
        assert!(ok > 0, "{op} never succeeded: {report:?}");
    }
    assert_eq!(report.poison_published, 2);
    let dlq = dead_letter_queue(&namespace.names().command_queue);
    let conn = amqp().await;
    let mut found = 0;
    eventually(
        "both poison messages are dead-lettered",
        std::time::Duration::from_secs(10),
        async || {
            while take_message(&conn, &dlq).await.is_some() {
                found += 1;
            }
            found == 2
        },
    )
    .await;
    let _ = conn.close(200, "done".into()).await;
}
