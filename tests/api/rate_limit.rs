//! The per-client request-rate limit on unauthenticated endpoints, and whose address counts
//! (TRUSTED_PROXIES).

use crate::helpers::*;
use serde_json::json;

const BURST: usize = 3;

fn limited(burst: usize, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        // One request a minute after the burst: nothing refills during the test.
        ("RATE_LIMIT_PER_MINUTE", "1".to_owned()),
        ("RATE_LIMIT_BURST", burst.to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    vars
}

async fn spawn_limited(vars: &[(&'static str, String)]) -> TestApp {
    let overrides: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_role(
        &Namespace::new().await,
        hexactor::startup::ProcessRole::All,
        &overrides,
    )
    .await
}

async fn refresh(app: &TestApp, headers: &[(&str, &str)]) -> Reply {
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": "not-a-real-token" }),
        headers,
    )
    .await
}

#[actix_web::test]
async fn over_the_rate_unauthenticated_endpoints_answer_429_with_retry_after() {
    let app = spawn_limited(&limited(BURST, &[])).await;
    for _ in 0..BURST {
        assert_eq!(refresh(&app, &[]).await.status, 401);
    }
    let limited = refresh(&app, &[]).await;
    let problem = limited.problem(429);
    assert_eq!(problem["type"], "/problems/rate-limited");
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // The bucket is per client, shared by every limited endpoint: login and register too.
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "a@example.com", "password": "whatever it is" }),
            &[],
        )
        .await;
    login.problem(429);
    app.register(&user_body("ratelimited"), &[])
        .await
        .problem(429);
    // Other endpoints are not limited.
    assert_eq!(app.get("/health").await.status, 200);
    assert_eq!(app.get("/api/v1/users/me").await.status, 401);
}

#[actix_web::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    // Not trusted (the default): a client cannot get a fresh bucket by inventing addresses.
    let app = spawn_limited(&limited(2, &[])).await;
    for i in 0..2 {
        let xff = format!("203.0.113.{i}");
        assert_eq!(
            refresh(&app, &[("x-forwarded-for", &xff)]).await.status,
            401
        );
    }
    refresh(&app, &[("x-forwarded-for", "203.0.113.99")])
        .await
        .problem(429);

    // Behind a trusted proxy (the test client is 127.0.0.1), each forwarded client has its own.
    let app = spawn_limited(&limited(2, &[("TRUSTED_PROXIES", "127.0.0.0/8")])).await;
    let a = [("x-forwarded-for", "203.0.113.1")];
    for _ in 0..2 {
        assert_eq!(refresh(&app, &a).await.status, 401);
    }
    refresh(&app, &a).await.problem(429);
    let b = [("x-forwarded-for", "203.0.113.2")];
    assert_eq!(refresh(&app, &b).await.status, 401, "another client");
    let c = [("forwarded", "for=\"[2001:db8::1]:4711\"")];
    assert_eq!(refresh(&app, &c).await.status, 401, "RFC 7239 header");
    // Only the right-most untrusted entry counts: prepending a forged address changes nothing.
    let forged = [("x-forwarded-for", "198.51.100.7, 203.0.113.1")];
    refresh(&app, &forged).await.problem(429);
}

#[actix_web::test]
async fn failed_login_throttling_uses_the_forwarded_client_address() {
    let app = spawn_limited(&[
        ("RATE_LIMIT_PER_MINUTE", "0".to_owned()),
        ("TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ("LOGIN_MAX_FAILURES_PER_IP", "2".to_owned()),
    ])
    .await;
    let login = |n: usize, client: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/auth/login",
                &json!({ "email": format!("nobody{n}@example.com"), "password": "wrong password" }),
                &[("x-forwarded-for", client)],
            )
            .await
        }
    };
    assert_eq!(login(1, "203.0.113.1").await.status, 401);
    assert_eq!(login(2, "203.0.113.1").await.status, 401);
    let locked = login(3, "203.0.113.1").await;
    assert_eq!(locked.problem(429)["type"], "/problems/too-many-attempts");
    // Behind the same proxy, another client is not locked out with the first one.
    assert_eq!(login(4, "203.0.113.2").await.status, 401);
}

/// A client spreading a burst over two API replicas of one deployment.
async fn burst_over_two_replicas(shared: &'static str) -> usize {
    let ns = Namespace::new().await;
    let vars = limited(BURST, &[("RATE_LIMIT_SHARED", shared)]);
    let overrides: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = spawn_role(&ns, hexactor::startup::ProcessRole::All, &overrides).await;
    let b = spawn_role(&ns, hexactor::startup::ProcessRole::Api, &overrides).await;
    let mut allowed = 0;
    for replica in [&a, &b].into_iter().cycle().take(4 * BURST) {
        let status = refresh(replica, &[]).await.status;
        assert!(status == 401 || status == 429, "{status}");
        allowed += usize::from(status == 401);
    }
    allowed
}

#[actix_web::test]
async fn the_rate_holds_across_replicas() {
    assert_eq!(
        burst_over_two_replicas("true").await,
        BURST,
        "one burst for the client, whichever replica it reaches"
    );
    assert_eq!(
        burst_over_two_replicas("false").await,
        2 * BURST,
        "per replica: a burst each"
    );
}
