//! Breached-password screening end to end, against a range server this test starts on
//! 127.0.0.1 (Have I Been Pwned's API shape) and against a local hash file: a breached password
//! refused, a fresh one accepted, the server down with `allow` and with `deny`, only 5-character
//! prefixes ever sent, and no private address reached without the opt-in.

use crate::helpers::*;
use crate::metrics::sample;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hexactor::infrastructure::breached_passwords::ScreenPassword;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Strong enough for the strength check, and listed by the range server below.
const BREACHED: &str = "correct horse battery staple";
/// Strong, and not listed (its suffix is served only as padding, count 0).
const FRESH: &str = "a fresh and unlisted passphrase 7";

fn sha1(password: &str) -> String {
    ScreenPassword::of(password).sha1
}

/// One request the range server was sent: its path and its headers.
type Request = (String, Vec<(String, String)>);

/// What the range server was sent.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

/// A Have-I-Been-Pwned-style range server on 127.0.0.1, stopped when dropped.
struct RangeServer {
    url: String,
    seen: Seen,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for RangeServer {
    fn drop(&mut self) {
        // Stops accepting at once; the test process (one per test under nextest) ends the rest.
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

async fn range(req: HttpRequest, prefix: web::Path<String>, seen: web::Data<Seen>) -> HttpResponse {
    let headers = (req.headers().iter())
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    seen.0
        .lock()
        .unwrap()
        .push((req.uri().to_string(), headers));
    let mut body = String::new();
    for (password, count) in [(BREACHED, 3_861_493), (FRESH, 0)] {
        let hash = sha1(password);
        if hash.starts_with(prefix.as_str()) {
            body.push_str(&format!("{}:{count}\r\n", &hash[5..]));
        }
    }
    body.push_str("00000000000000000000000000000000000:0\r\n");
    HttpResponse::Ok().content_type("text/plain").body(body)
}

async fn range_server() -> RangeServer {
    let seen = Seen::default();
    let data = web::Data::new(seen.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/range/{prefix}", web::get().to(range))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    RangeServer { url, seen, handle }
}

async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    spawn_role(
        &Namespace::new().await,
        hexactor::startup::ProcessRole::All,
        vars,
    )
    .await
}

async fn checks(app: &TestApp, outcome: &str) -> f64 {
    let series = format!(r#"breached_password_checks_total{{outcome="{outcome}"}}"#);
    sample(&app.metrics().await, &series).unwrap_or_default()
}

#[actix_web::test]
async fn a_breached_password_is_refused_a_fresh_one_accepted_and_only_prefixes_leave() {
    let server = range_server().await;
    let app = app_with(&[
        ("BREACHED_PASSWORDS_URL", &server.url),
        ("OUTBOUND_ALLOW_PRIVATE_ADDRESSES", "true"),
    ])
    .await;
    let p = app
        .register(&user_body_with("1", BREACHED), &[])
        .await
        .problem(422);
    assert_eq!(p["type"], "/problems/breached-password");
    assert_eq!(p["errors"][0]["field"], "password");
    assert_eq!(p["errors"][0]["code"], "breached");
    assert_eq!(app.count("SELECT count(*) FROM commands").await, 0);
    let res = app.register(&user_body_with("1", FRESH), &[]).await;
    assert_eq!(
        res.status,
        201,
        "padding (count 0) is not a hit: {}",
        String::from_utf8_lossy(&res.body)
    );

    // A password change is screened the same way (the field is the request's).
    let token = app.login("user1@example.com", FRESH).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let change = json!({ "current_password": FRESH, "new_password": BREACHED });
    let p = app
        .send_as(
            "PUT",
            &format!("/api/v1/users/{id}/password"),
            &token,
            Some(&change),
            &[],
        )
        .await
        .problem(422);
    assert_eq!(p["type"], "/problems/breached-password");
    assert_eq!(p["errors"][0]["field"], "new_password");
    assert_eq!(
        (checks(&app, "breached").await, checks(&app, "clean").await),
        (2.0, 1.0)
    );

    let seen = server.seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "one range request per new password");
    let expected: Vec<String> = [BREACHED, FRESH, BREACHED]
        .iter()
        .map(|p| format!("/range/{}", &sha1(p)[..5]))
        .collect();
    let paths: Vec<&String> = seen.iter().map(|(path, _)| path).collect();
    assert_eq!(paths, expected.iter().collect::<Vec<_>>());
    for (path, headers) in &seen {
        let prefix = path.strip_prefix("/range/").unwrap();
        assert!(
            prefix.len() == 5 && prefix.chars().all(|c| c.is_ascii_hexdigit()),
            "{path}"
        );
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "add-padding" && v == "true"),
            "{headers:?}"
        );
        for secret in [BREACHED, FRESH] {
            let hash = sha1(secret);
            let leaked = |text: &str| text.contains(secret) || text.contains(&hash[5..]);
            assert!(!leaked(path) && !headers.iter().any(|(k, v)| leaked(k) || leaked(v)));
        }
    }
}

#[actix_web::test]
async fn a_password_reset_is_screened_too() {
    let server = range_server().await;
    let (app, smtp, _ns) = crate::smtp::spawn_with_mail(&[
        ("BREACHED_PASSWORDS_URL", &server.url),
        ("OUTBOUND_ALLOW_PRIVATE_ADDRESSES", "true"),
    ])
    .await;
    let res = app.register(&user_body_with("1", FRESH), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let reset = json!({ "email": "user1@example.com" });
    let res = app
        .post_json("/api/v1/auth/password-reset", &reset, &[])
        .await;
    assert_eq!(res.status, 202);
    let mail = smtp
        .wait_for("user1@example.com", "Reset your hexactor password", 1)
        .await;
    let token = mail[0].token("reset-password");
    let confirm = |password: &str| json!({ "token": token, "new_password": password });
    let path = "/api/v1/auth/password-reset/confirm";
    let p = app
        .post_json(path, &confirm(BREACHED), &[])
        .await
        .problem(422);
    assert_eq!(p["type"], "/problems/breached-password");
    assert_eq!(p["errors"][0]["field"], "new_password");
    // The refusal did not spend the token.
    let res = app
        .post_json(path, &confirm("another fresh passphrase 8"), &[])
        .await;
    assert_eq!(res.status, 204, "{}", String::from_utf8_lossy(&res.body));
    app.login("user1@example.com", "another fresh passphrase 8")
        .await;
}

#[actix_web::test]
async fn the_range_server_down_allows_by_default_and_refuses_with_deny() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let down = [
        ("BREACHED_PASSWORDS_URL", url.as_str()),
        ("OUTBOUND_ALLOW_PRIVATE_ADDRESSES", "true"),
    ];
    let allow = app_with(&down).await;
    let res = allow.register(&user_body_with("1", BREACHED), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(checks(&allow, "error_allowed").await, 1.0);
    let logs = captured_logs();
    assert!(logs.contains("breached-password check failed"), "logged");
    assert!(
        !logs.contains(BREACHED) && !logs.contains(&sha1(BREACHED)[5..]),
        "without the password"
    );

    let deny = app_with(&[down[0], down[1], ("BREACHED_PASSWORDS_ON_ERROR", "deny")]).await;
    let p = deny
        .register(&user_body_with("1", FRESH), &[])
        .await
        .problem(503);
    assert_eq!(p["type"], "/problems/password-screening-unavailable");
    assert!(p["detail"].as_str().unwrap().contains("retry later"), "{p}");
    assert_eq!(checks(&deny, "error_denied").await, 1.0);
    assert_eq!(deny.count("SELECT count(*) FROM commands").await, 0);
}

#[actix_web::test]
async fn without_the_opt_in_a_loopback_range_server_is_never_contacted() {
    let server = range_server().await;
    let app = app_with(&[
        ("BREACHED_PASSWORDS_URL", &server.url),
        ("BREACHED_PASSWORDS_ON_ERROR", "deny"),
    ])
    .await;
    let p = app
        .register(&user_body_with("1", FRESH), &[])
        .await
        .problem(503);
    assert_eq!(p["type"], "/problems/password-screening-unavailable");
    assert!(captured_logs().contains("not a public address"));
    assert!(
        server.seen.0.lock().unwrap().is_empty(),
        "nothing reached 127.0.0.1"
    );
}

#[actix_web::test]
async fn the_file_variant_refuses_a_listed_password_and_accepts_another() {
    let mut lines: Vec<String> = (0..2000u32)
        .map(|i| {
            format!(
                "{:040X}:{}",
                u128::from(i) * 7_919_000_000_000_000_000_000,
                i + 1
            )
        })
        .collect();
    lines.push(format!("{}:12", sha1(BREACHED)));
    lines.sort();
    let file = TempFile::with(&(lines.join("\n") + "\n"));
    let app = app_with(&[("BREACHED_PASSWORDS_FILE", file.path())]).await;
    let p = app
        .register(&user_body_with("1", BREACHED), &[])
        .await
        .problem(422);
    assert_eq!(p["type"], "/problems/breached-password");
    let res = app.register(&user_body_with("1", FRESH), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        (checks(&app, "breached").await, checks(&app, "clean").await),
        (1.0, 1.0)
    );
}
