//! The plaintext password never leaves the API process: not on the broker, not in any
//! database row, not in the logs.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use serde_json::json;

const PASSWORD: &str = "Tr0ub4dor&3-unique-plaintext";

#[actix_web::test]
async fn the_plaintext_password_is_nowhere_outside_the_api_process() {
    let ns = Namespace::new().await;
    let api = spawn_role(&ns, ProcessRole::Api, &[]).await;
    let mut body = user_body("1");
    body["password"] = json!(PASSWORD);
    let res = api
        .register(
            &body,
            &[("prefer", "respond-async"), ("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(res.status, 202);
    let location = res.header("location").unwrap();

    // 1. The message on the broker (no worker is running yet, so it waits in the queue).
    let conn = amqp().await;
    let queue = ns.names().command_queue;
    let mut message = None;
    eventually(
        "the command is on the broker",
        std::time::Duration::from_secs(10),
        async || {
            message = take_message(&conn, &queue).await;
            message.is_some()
        },
    )
    .await;
    let payload = String::from_utf8(message.unwrap().delivery.data.clone()).unwrap();
    assert!(
        payload.contains("password_hash") && payload.contains("$argon2id$"),
        "the hash travels: {payload}"
    );
    assert!(
        !payload.contains(PASSWORD),
        "plaintext on the broker: {payload}"
    );
    // Put it back for the worker.
    publish_raw(
        &conn,
        &queue,
        payload.as_bytes(),
        lapin::BasicProperties::default(),
    )
    .await;

    let _worker = spawn_role(&ns, ProcessRole::Worker, &[]).await;
    assert_eq!(api.wait_for_command(&location).await["status"], "succeeded");

    // 2. Every row of every table, as text.
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&api.pool)
            .await
            .unwrap();
    assert!(tables.len() >= 4);
    for (table,) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            r#"SELECT t::text FROM "{table}" t"#
        )))
        .fetch_all(&api.pool)
        .await
        .unwrap();
        for (row,) in rows {
            assert!(!row.contains(PASSWORD), "plaintext in table {table}: {row}");
        }
    }
    // bytea prints as hex above, so the outbox payloads are decoded and checked on their own.
    let payloads: Vec<(String,)> =
        sqlx::query_as("SELECT convert_from(payload, 'UTF8') FROM outbox")
            .fetch_all(&api.pool)
            .await
            .unwrap();
    assert!(
        payloads.iter().any(|(p,)| p.contains("RegisterUser")),
        "the command payload was examined"
    );
    assert!(
        payloads.iter().all(|(p,)| !p.contains(PASSWORD)),
        "plaintext in an outbox payload"
    );
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM users")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    let password = hexactor::domain::Password::presented(PASSWORD.to_owned()).unwrap();
    assert_eq!(
        hexactor::infrastructure::password_hashing::verify(
            &password,
            &hexactor::domain::PasswordHash::new(hash)
        ),
        hexactor::application::ports::Verified::Yes,
        "the stored hash is of the password"
    );

    // 3. Everything logged at debug level during the test.
    let logs = captured_logs();
    assert!(logs.contains("command applied"), "logs were captured");
    assert!(!logs.contains(PASSWORD), "plaintext in the logs");
}
