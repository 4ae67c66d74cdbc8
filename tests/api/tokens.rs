//! Tokens over HTTP: refresh rotation and reuse detection, logout (one replica or another),
//! what is not a valid access token, EdDSA keys and the JWKS.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use serde_json::{Value, json};

#[actix_web::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_whole_family() {
    let app = spawn_app().await;
    app.user("1").await;
    let first = app.login("user1@example.com", PASSWORD).await;
    let refresh = async |token: &Value| {
        app.post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": token }),
            &[],
        )
        .await
    };

    let second = refresh(&first["refresh_token"]).await;
    assert_eq!(second.status, 200);
    let second = second.json();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        app.get_as("/api/v1/users/me", second["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );

    // The first token again: reuse. It fails, and so does everything of that session.
    refresh(&first["refresh_token"]).await.problem(401);
    refresh(&second["refresh_token"]).await.problem(401);
    app.get_as("/api/v1/users/me", second["access_token"].as_str().unwrap())
        .await
        .problem(401);
    // Another session of the same user is untouched.
    let other = app.login("user1@example.com", PASSWORD).await;
    assert_eq!(refresh(&other["refresh_token"]).await.status, 200);
    // Refresh tokens are stored hashed, never as issued.
    let stored: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        stored.iter().all(|(h,)| h.len() == 32
            && h.as_slice() != other["refresh_token"].as_str().unwrap().as_bytes())
    );
}

#[actix_web::test]
async fn logout_ends_the_session_and_logout_all_ends_every_session() {
    let app = spawn_app().await;
    app.user("1").await;
    let a = app.login("user1@example.com", PASSWORD).await;
    let b = app.login("user1@example.com", PASSWORD).await;
    let c = app.login("user1@example.com", PASSWORD).await;
    let token = |t: &Value| t["access_token"].as_str().unwrap().to_owned();

    assert_eq!(
        app.send_as("POST", "/api/v1/auth/logout", &token(&a), None, &[])
            .await
            .status,
        204
    );
    app.get_as("/api/v1/users/me", &token(&a))
        .await
        .problem(401);
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": a["refresh_token"] }),
        &[],
    )
    .await
    .problem(401);
    assert_eq!(app.get_as("/api/v1/users/me", &token(&b)).await.status, 200);

    assert_eq!(
        app.send_as("POST", "/api/v1/auth/logout-all", &token(&b), None, &[])
            .await
            .status,
        204
    );
    app.get_as("/api/v1/users/me", &token(&b))
        .await
        .problem(401);
    app.get_as("/api/v1/users/me", &token(&c))
        .await
        .problem(401);
}

#[actix_web::test]
async fn tokens_that_are_not_valid_access_tokens_are_refused() {
    let app = spawn_app().await;
    app.user("1").await;
    let tokens = app.login("user1@example.com", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    // A refresh token is not an access token.
    app.get_as(
        "/api/v1/users/me",
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await
    .problem(401);
    // Tampered payload.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    parts[1].push('A');
    app.get_as("/api/v1/users/me", &parts.join("."))
        .await
        .problem(401);
    // alg: none with the same claims.
    use base64::Engine as _;
    let none = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"alg":"none","typ":"JWT","kid":"hs256"}"#);
    let unsigned = format!("{none}.{}.", access.split('.').nth(1).unwrap());
    app.get_as("/api/v1/users/me", &unsigned).await.problem(401);
    // No token, wrong scheme.
    let p = app.get("/api/v1/users/me").await.problem(401);
    assert!(p["detail"].as_str().unwrap().contains("bearer"));
    let basic = app
        .request(
            "GET",
            "/api/v1/users/me",
            &[("authorization", "Basic dXNlcjpwYXNz")],
            None,
        )
        .await;
    basic.problem(401);
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[actix_web::test]
async fn eddsa_tokens_verify_with_the_published_jwks_and_old_keys_keep_verifying() {
    let ns = Namespace::new().await;
    let old_keys = format!("old={}", fixture("ed25519-old.pem"));
    let rotated = format!(
        "new={},old={}",
        fixture("ed25519-new.pem"),
        fixture("ed25519-old.pem")
    );
    let before = spawn_role(
        &ns,
        ProcessRole::All,
        &[("JWT_ALGORITHM", "EdDSA"), ("JWT_KEYS", &old_keys)],
    )
    .await;
    before.user("1").await;
    let old_token = before.login("user1@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let after = spawn_role(
        &ns,
        ProcessRole::Api,
        &[("JWT_ALGORITHM", "EdDSA"), ("JWT_KEYS", &rotated)],
    )
    .await;
    let new_token = after.login("user1@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("new")
    );
    assert_eq!(
        jsonwebtoken::decode_header(&old_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("old")
    );
    // After rotation, tokens signed with the old key still work until they expire.
    assert_eq!(
        after.get_as("/api/v1/users/me", &old_token).await.status,
        200
    );
    assert_eq!(
        after.get_as("/api/v1/users/me", &new_token).await.status,
        200
    );

    // Another service verifies with nothing but the published keys.
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&after.get("/.well-known/jwks.json").await.body).unwrap();
    assert_eq!(jwks.keys.len(), 2);
    let key = jwks.find("new").unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["hexactor-api"]);
    let claims = jsonwebtoken::decode::<Value>(
        &new_token,
        &jsonwebtoken::DecodingKey::from_jwk(key).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(claims.claims["typ"], "access");
    // An HS256 deployment publishes no keys: the secret stays secret.
    let hs = spawn_app().await;
    assert_eq!(
        hs.get("/.well-known/jwks.json").await.json()["keys"],
        json!([])
    );
}

#[actix_web::test]
async fn a_logout_on_one_replica_is_honoured_by_another() {
    let ns = Namespace::new().await;
    let a = spawn_role(&ns, ProcessRole::All, &[]).await;
    let b = spawn_role(&ns, ProcessRole::Api, &[]).await;
    a.user("1").await;
    let tokens = a.login("user1@example.com", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        b.get_as("/api/v1/users/me", access).await.status,
        200,
        "any replica accepts the token"
    );
    assert_eq!(
        a.send_as("POST", "/api/v1/auth/logout", access, None, &[])
            .await
            .status,
        204
    );
    b.get_as("/api/v1/users/me", access).await.problem(401);
    // A password change must not contain the username either.
    let (user, token) = b.user("2").await;
    let path = format!("/api/v1/users/{}/password", user["id"].as_str().unwrap());
    let body = json!({ "current_password": PASSWORD, "new_password": "zebra user_2 quantum" });
    assert_eq!(
        b.send_as("PUT", &path, &token, Some(&body), &[])
            .await
            .problem(422)["errors"][0]["code"],
        "contains_personal_info"
    );
}

/// A client of the model service refreshes with its access token as bearer and no body: it is
/// told what to send instead (not a bare 415), and a malformed body keeps its own answer.
#[actix_web::test]
async fn refresh_with_a_bearer_and_no_body_says_to_send_the_refresh_token() {
    let app = spawn_app().await;
    let (_, access) = app.user("refresher").await;
    let bearer = format!("Bearer {access}");
    for headers in [
        vec![("authorization", bearer.as_str())],
        vec![
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ],
    ] {
        let res = app
            .request("POST", "/api/v1/auth/refresh", &headers, None)
            .await;
        let problem = res.problem(400);
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(r#"{"refresh_token": "#), "{detail}");
        assert_eq!(problem["instance"], "/api/v1/auth/refresh");
    }
    let res = app
        .request(
            "POST",
            "/api/v1/auth/refresh",
            &[("content-type", "text/plain")],
            Some(b"token".to_vec()),
        )
        .await;
    res.problem(415);
}
