//! TLS to PostgreSQL and RabbitMQ (rustls), against private servers this test starts with
//! certificates it generates (see `tls/private.rs`): the right CA connects, another CA fails
//! fast with one line naming the cause.

#[path = "tls/private.rs"]
mod private;

use hexactor::config::Settings;
use hexactor::startup::{Application, ProcessRole};
use private::{Certificates, PrivatePostgres, PrivateRabbit};
use sqlx::{Connection as _, PgConnection};
use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hexactor");

fn database_url(pg: &PrivatePostgres, database: &str, ca: &str) -> String {
    format!(
        "postgres://postgres@127.0.0.1:{}/{database}?sslmode=verify-full&sslrootcert={ca}",
        pg.port
    )
}

/// Runs the binary with a clean, explicit environment (nothing inherited from the shell that
/// could point it at the shared services); kills it at `deadline` so that a hang fails the test.
fn hexactor(args: &[&str], env: &[(&str, String)], deadline: Duration) -> (Output, Duration) {
    let dir = private::TempDir::new("cwd");
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("WORKER_PORT", "0")
        .env("BCRYPT_COST", "4")
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hexactor starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "hexactor {args:?} still running after {deadline:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child.wait_with_output().unwrap(), started.elapsed())
}

fn one_error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr}");
    stderr
}

#[test]
fn tls_postgres_trusts_its_ca_and_refuses_another() {
    let certs = Certificates::generate();
    let pg = PrivatePostgres::start(&certs);
    let good = database_url(&pg, "postgres", &certs.file("ca.pem"));

    let (out, _) = hexactor(
        &["migrate"],
        &[("DATABASE_URL", good.clone())],
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "migrate over verify-full: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut conn = PgConnection::connect(&good).await.expect("TLS connection");
        let (ssl, migrations): (bool, i64) = sqlx::query_as(
            "SELECT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), \
                    (SELECT count(*) FROM _sqlx_migrations)",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert!(ssl, "the session is encrypted");
        assert!(migrations > 0, "migrate applied the migrations");
        // The server takes TLS only, so the success above cannot have been a plain connection.
        let plain = format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            pg.port
        );
        assert!(PgConnection::connect(&plain).await.is_err());
    });

    let wrong = database_url(&pg, "postgres", &certs.file("other-ca.pem"));
    let (out, took) = hexactor(
        &["migrate"],
        &[("DATABASE_URL", wrong)],
        Duration::from_secs(30),
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("DATABASE_URL") && line.contains("certificate"),
        "{line}"
    );
    assert!(
        took < Duration::from_secs(10),
        "failed fast, not after retries: {took:?}"
    );
}

#[test]
fn tls_rabbitmq_registration_end_to_end_and_a_wrong_ca_fails_fast() {
    let certs = Certificates::generate();
    let pg = PrivatePostgres::start(&certs);
    let rabbit = PrivateRabbit::start(&certs);
    let amqps = format!("amqps://guest:guest@127.0.0.1:{}/%2f", rabbit.tls_port);
    let database = database_url(&pg, "postgres", &certs.file("ca.pem"));

    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database.clone()),
        ("RABBITMQ_URL", amqps.clone()),
        ("RABBITMQ_CA_FILE", certs.file("ca.pem")),
        ("PORT", "0".into()),
        ("WORKER_PORT", "0".into()),
        ("BCRYPT_COST", "4".into()),
        ("ARGON2_MEMORY_KIB", "1024".into()),
        ("ARGON2_ITERATIONS", "1".into()),
        ("QUEUE_TYPE", "classic".into()),
    ]);
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("settings");
    let db = database.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, ProcessRole::All)
            .await
            .expect("builds over TLS");
        let address = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.into_server());
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        let body = serde_json::json!({
            "email": "tls@example.com", "username": "tls_user", "first_name": "Tee",
            "last_name": "Ls", "password": "a ship in harbour is safe"
        });
        // The API publishes the command through the TLS broker; the worker in this process
        // consumes it from there and reports back: "succeeded" means both directions work.
        let res = client
            .post(format!("{address}/api/v1/users"))
            .insert_header(("prefer", "respond-async"))
            .send_json(&body)
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 202);
        let location = res
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status: serde_json::Value = client
                .get(format!("{address}{location}"))
                .send()
                .await
                .expect("command status")
                .json()
                .await
                .unwrap();
            if status["status"] == "succeeded" {
                break;
            }
            assert_eq!(status["status"], "pending", "{status}");
            assert!(
                Instant::now() < deadline,
                "command never completed: {status}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut conn = PgConnection::connect(&db).await.unwrap();
        let users: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'tls@example.com'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(users, 1);
    });

    let (out, took) = hexactor(
        &["serve"],
        &[
            ("DATABASE_URL", database),
            ("RABBITMQ_URL", amqps),
            ("RABBITMQ_CA_FILE", certs.file("other-ca.pem")),
        ],
        Duration::from_secs(30),
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("RABBITMQ_URL") && line.contains("certificate"),
        "{line}"
    );
    assert!(took < Duration::from_secs(15), "failed fast: {took:?}");
}
