//! Registering clients: admins only, commands with events, the secret shown once and rotated.

use super::*;

#[actix_web::test]
async fn oauth2_clients_are_registered_changed_rotated_and_deleted_by_admins() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let admin = app.admin().await;
    let (_, user) = app.user("1").await;
    let body = web_app(&base, false, &["authorization_code", "client_credentials"]);
    let refused = app
        .send_as("POST", "/api/v1/oauth2/clients", &user, Some(&body), &[])
        .await;
    assert_eq!(refused.status, 403, "admins only");
    assert_eq!(
        app.get_as("/api/v1/oauth2/clients", &user).await.status,
        403
    );
    let bad = json!({ "name": "x", "grant_types": ["implicit"], "token_endpoint_auth_method": "none", "scopes": ["openid"] });
    assert_eq!(
        app.send_as("POST", "/api/v1/oauth2/clients", &admin, Some(&bad), &[])
            .await
            .status,
        422
    );
    let open_redirect = json!({ "name": "x", "redirect_uris": ["http://evil.example/cb"], "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "none", "scopes": ["openid"] });
    assert_eq!(
        app.send_as(
            "POST",
            "/api/v1/oauth2/clients",
            &admin,
            Some(&open_redirect),
            &[]
        )
        .await
        .status,
        422
    );

    let created = client(&app, &admin, body).await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT secret_hash FROM oauth2_clients WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    use sha2::Digest as _;
    assert_eq!(
        stored,
        sha2::Sha256::digest(secret.as_bytes()).to_vec(),
        "only the hash is stored"
    );
    let outbox: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE position($1 in convert_from(payload, 'UTF8')) > 0",
    )
    .bind(&secret)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(outbox, 0, "the secret is in no command and no event");
    let commands: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM commands WHERE type = 'RegisterClient' AND status = 'succeeded'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(commands, 1, "registration is a command");

    let path = format!("/api/v1/oauth2/clients/{id}");
    let one = app.get_as(&path, &admin).await.json();
    assert_eq!(one["name"], "Grafana");
    assert!(one.get("client_secret").is_none(), "shown once only");
    let list = app.get_as("/api/v1/oauth2/clients", &admin).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let mut console = signed_in_as(&app, &base, "root@example.com", ADMIN_PASSWORD).await;
    let page = console.get("/admin/clients").await;
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        page.status == 200 && html.contains("Grafana") && html.contains(&id),
        "{html}"
    );
    let email = user_body("1")["email"].as_str().unwrap().to_owned();
    let mut person = signed_in(&app, &base, &email).await;
    assert_eq!(
        person.get("/admin/clients").await.status,
        404,
        "admins only"
    );

    let renamed = app
        .send_as(
            "PATCH",
            &path,
            &admin,
            Some(&json!({ "name": "Grafana (ops)" })),
            &[],
        )
        .await;
    assert_eq!(
        renamed.status,
        200,
        "{}",
        String::from_utf8_lossy(&renamed.body)
    );
    assert_eq!(renamed.json()["name"], "Grafana (ops)");

    let grant = [("grant_type", "client_credentials")];
    let works = |secret: String| {
        let (app, id) = (&app, id.clone());
        async move {
            post_form(
                app,
                "/oauth2/token",
                &grant,
                &[("authorization", &basic(&id, &secret))],
            )
            .await
            .status
        }
    };
    assert_eq!(works(secret.clone()).await, 200);
    let rotated = app
        .send_as("POST", &format!("{path}/secret"), &admin, None, &[])
        .await;
    assert_eq!(rotated.status, 200);
    let new_secret = rotated.json()["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(
        works(secret.clone()).await,
        401,
        "the old secret stops working"
    );
    assert_eq!(works(new_secret.clone()).await, 200);

    let deleted = app.send_as("DELETE", &path, &admin, None, &[]).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.get_as(&path, &admin).await.status, 404);
    assert_eq!(works(new_secret).await, 401, "a deleted client is unknown");
    let events: Vec<String> = sqlx::query_scalar("SELECT routing_key FROM outbox ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for key in ["registered", "updated", "secret-rotated", "deleted"] {
        assert!(
            events.contains(&format!("users.oauth2-client.{key}")),
            "{key}: {events:?}"
        );
    }
}

#[actix_web::test]
async fn oauth2_client_create_on_the_command_line_registers_a_working_client() {
    let (app, _smtp, ns, _base) = crate::pages::spawn_pages_app(&[]).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hexactor"))
        .args([
            "oauth2-client",
            "create",
            "--name",
            "Nightly export",
            "--grant-type",
            "client_credentials",
            "--scope",
            "exports.write",
        ])
        .env("DATABASE_URL", ns.database_url())
        .env("AMQP_PREFIX", &ns.prefix)
        .output()
        .expect("hexactor oauth2-client create runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = |key: &str| {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} in {stdout}"));
        line[key.len()..].to_owned()
    };
    let (id, secret) = (value("client_id="), value("client_secret="));
    let res = post_form(
        &app,
        "/oauth2/token",
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(&id, &secret))],
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        claims(res.json()["access_token"].as_str().unwrap()).1["scope"],
        "exports.write"
    );
    let event: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE routing_key = 'users.oauth2-client.registered'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(event, 1, "the same command as the API's, with its event");

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_hexactor"))
        .args([
            "oauth2-client",
            "create",
            "--name",
            "x",
            "--grant-type",
            "implicit",
            "--scope",
            "openid",
        ])
        .env("DATABASE_URL", ns.database_url())
        .output()
        .unwrap();
    assert!(!bad.status.success(), "no implicit grant");
}
