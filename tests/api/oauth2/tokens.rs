//! The token endpoint for service accounts (client credentials), client authentication's
//! failures, introspection and discovery, over plain HTTP.

use super::*;

async fn service_account(app: &TestApp, admin: &str) -> (String, String) {
    let c = client(
        app,
        admin,
        json!({
            "name": "Billing batch",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scopes": ["reports.read", "reports.write"],
        }),
    )
    .await;
    let (id, secret) = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    assert!(secret.len() >= 43, "256 random bits: {secret}");
    (id.to_owned(), secret.to_owned())
}

#[actix_web::test]
async fn oauth2_client_credentials_give_a_service_account_its_own_scopes() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let admin = app.admin().await;
    let (id, secret) = service_account(&app, &admin).await;
    let auth = basic(&id, &secret);

    let res = post_form(
        &app,
        "/oauth2/token",
        &[("grant_type", "client_credentials")],
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let (header, token_claims) = claims(body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt", "RFC 9068");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(
        token_claims["sub"],
        id.as_str(),
        "the client is the subject"
    );
    assert_eq!(token_claims["client_id"], id.as_str());
    assert_eq!(token_claims["scope"], "reports.read reports.write");
    assert_eq!(token_claims["iss"], base.as_str());
    assert!(token_claims["jti"].is_string() && token_claims["exp"].is_i64());
    let jwks = app.get("/oauth2/jwks").await.json();
    assert_eq!(
        jwks["keys"][0]["kid"], header["kid"],
        "signed by the published key"
    );

    // Narrowed on request; never widened.
    let narrow = post_form(
        &app,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports.read"),
        ],
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(
        claims(narrow.json()["access_token"].as_str().unwrap()).1["scope"],
        "reports.read"
    );
    let wide = post_form(
        &app,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "openid admin"),
        ],
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(wide.status, 400);
    assert_eq!(wide.json()["error"], "invalid_scope");

    // Introspection: live, then not a token at all.
    let token = body["access_token"].as_str().unwrap();
    let seen = post_form(
        &app,
        "/oauth2/introspect",
        &[("token", token)],
        &[("authorization", &auth)],
    )
    .await
    .json();
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["client_id"], id.as_str());
    assert_eq!(seen["scope"], "reports.read reports.write");
    let forged = format!("{}x", &token[..token.len() - 1]);
    let unseen = post_form(
        &app,
        "/oauth2/introspect",
        &[("token", &forged)],
        &[("authorization", &auth)],
    )
    .await
    .json();
    assert_eq!(unseen, json!({ "active": false }));
}

#[actix_web::test]
async fn oauth2_token_requests_from_unknown_or_unproven_clients_are_refused() {
    let (app, _smtp, _ns, _base) = crate::pages::spawn_pages_app(&[]).await;
    let admin = app.admin().await;
    let (id, secret) = service_account(&app, &admin).await;
    let grant = [("grant_type", "client_credentials")];

    let wrong = post_form(
        &app,
        "/oauth2/token",
        &grant,
        &[("authorization", &basic(&id, "not-the-secret"))],
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error"], "invalid_client");
    assert!(wrong.json()["error_description"].is_string());
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );

    let unknown = uuid::Uuid::new_v4().to_string();
    let stranger = post_form(
        &app,
        "/oauth2/token",
        &grant,
        &[("authorization", &basic(&unknown, &secret))],
    )
    .await;
    assert_eq!(stranger.status, 401);
    assert_eq!(stranger.json()["error"], "invalid_client");

    // Registered for Basic: the secret in the body is refused, as is no authentication at all.
    let posted = post_form(
        &app,
        "/oauth2/token",
        &[grant[0], ("client_id", &id), ("client_secret", &secret)],
        &[],
    )
    .await;
    assert_eq!(posted.json()["error"], "invalid_client");
    let anonymous = post_form(&app, "/oauth2/token", &grant, &[]).await;
    assert_eq!(anonymous.status, 401);

    let auth = basic(&id, &secret);
    let password = post_form(
        &app,
        "/oauth2/token",
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(password.status, 400);
    assert_eq!(
        password.json()["error"],
        "unsupported_grant_type",
        "no password grant (RFC 9700)"
    );
    let code = post_form(
        &app,
        "/oauth2/token",
        &[("grant_type", "authorization_code"), ("code", "x")],
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(
        code.json()["error"],
        "unauthorized_client",
        "a grant the client was not registered for"
    );
    let json = app
        .request(
            "POST",
            "/oauth2/token",
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(json.status, 400);
    assert_eq!(json.json()["error"], "invalid_request");
    let twice = post_form(
        &app,
        "/oauth2/token",
        &[grant[0], grant[0]],
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(
        twice.json()["error"],
        "invalid_request",
        "a repeated parameter"
    );
}

#[actix_web::test]
async fn oauth2_discovery_names_what_works_and_the_jwks_every_listed_key() {
    let dir = std::env::temp_dir().join(format!("hexactor-oidc-keys-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<String> = (0..2)
        .map(|i| {
            use rsa::pkcs8::EncodePrivateKey as _;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
            let der = key.to_pkcs8_der().unwrap();
            let body = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
            let lines: Vec<&str> = body
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let pem = format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                lines.join("\n")
            );
            let path = dir.join(format!("key{i}.pem"));
            std::fs::write(&path, pem).unwrap();
            path.display().to_string()
        })
        .collect();
    let keys = paths.join(",");
    let (app, _smtp, _ns, base) =
        crate::pages::spawn_pages_app(&[("OIDC_SIGNING_KEYS", &keys)]).await;
    std::fs::remove_dir_all(&dir).unwrap();

    let doc = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(doc["issuer"], base.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/oauth2/jwks"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("end_session_endpoint", "/oauth2/logout"),
    ] {
        assert_eq!(doc[field], format!("{base}{path}"), "{field}");
    }
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );

    let jwks = app.get("/oauth2/jwks").await.json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "both listed keys are published");
    assert!(keys.iter().all(|k| k["kty"] == "RSA"
        && k["n"].is_string()
        && k["e"] == "AQAB"
        && k["kid"].is_string()));
    let admin = app.admin().await;
    let (id, secret) = service_account(&app, &admin).await;
    let token = post_form(
        &app,
        "/oauth2/token",
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(&id, &secret))],
    )
    .await;
    let (header, _) = claims(token.json()["access_token"].as_str().unwrap());
    assert_eq!(header["kid"], keys[0]["kid"], "the first key signs");
}

#[actix_web::test]
async fn oauth2_cors_is_for_the_origins_of_public_clients_only() {
    let (app, _smtp, _ns, _base) = crate::pages::spawn_pages_app(&[]).await;
    let admin = app.admin().await;
    let spa = json!({ "name": "SPA", "redirect_uris": ["http://localhost:5173/callback"],
        "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none", "scopes": ["openid"] });
    client(&app, &admin, spa).await;
    client(
        &app,
        &admin,
        web_app(
            "https://grafana.example.com",
            false,
            &["authorization_code"],
        ),
    )
    .await;
    let preflight = |origin: &'static str, path: &'static str| {
        let app = &app;
        async move {
            let headers = [
                ("origin", origin),
                ("access-control-request-method", "POST"),
            ];
            app.request("OPTIONS", path, &headers, None).await
        }
    };
    for path in ["/oauth2/token", "/oauth2/userinfo", "/oauth2/revoke"] {
        let allowed = preflight("http://localhost:5173", path).await;
        assert_eq!(allowed.status, 204, "{path}");
        assert_eq!(
            allowed.header("access-control-allow-origin").as_deref(),
            Some("http://localhost:5173"),
            "{path}"
        );
        assert!(
            allowed
                .header("access-control-allow-headers")
                .unwrap()
                .contains("authorization")
        );
        for other in [
            "https://grafana.example.com",
            "https://evil.example",
            "http://localhost:5174",
        ] {
            let refused = preflight(other, path).await;
            assert!(
                refused.header("access-control-allow-origin").is_none(),
                "{other} at {path}"
            );
        }
    }
    let answer = post_form(
        &app,
        "/oauth2/token",
        &[("grant_type", "authorization_code")],
        &[("origin", "http://localhost:5173")],
    )
    .await;
    assert_eq!(answer.status, 401, "no client named");
    assert_eq!(
        answer.header("access-control-allow-origin").as_deref(),
        Some("http://localhost:5173"),
        "errors are readable too"
    );
}
