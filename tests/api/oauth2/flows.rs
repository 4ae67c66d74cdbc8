//! The authorization endpoint's rules and the code's life, over plain HTTP with a signed-in
//! cookie jar: where errors go, PKCE, single use, refresh rotation, revocation.

use super::*;

/// A public first-party app (a SPA or CLI) with refresh tokens.
fn spa(base: &str) -> Value {
    json!({
        "name": "Console",
        "redirect_uris": [format!("{base}/rp/callback")],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "scopes": ["openid", "profile", "email", "offline_access"],
        "first_party": true,
    })
}

fn authorize_url(client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut fields = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", "openid email offline_access"),
        ("state", "st4te"),
    ];
    fields.extend_from_slice(extra);
    format!(
        "/oauth2/authorize?{}",
        String::from_utf8(form(&fields)).unwrap()
    )
}

#[actix_web::test]
async fn oauth2_authorization_errors_go_back_only_to_a_registered_redirect_uri() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let (c, mut browser) = registered_and_signed_in(&app, &base, spa(&base)).await;
    let id = c["client_id"].as_str().unwrap();
    let redirect = format!("{base}/rp/callback");
    let (_, challenge) = pkce();
    let s256 = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    // Nothing is sent to an address the client did not register, nor for an unknown client.
    let elsewhere = browser
        .get(&authorize_url(id, "https://evil.example/cb", &s256))
        .await;
    assert_eq!(sent_back(&elsewhere).unwrap_err().0, 400);
    let prefix = browser
        .get(&authorize_url(id, &format!("{redirect}/more"), &s256))
        .await;
    assert_eq!(
        sent_back(&prefix).unwrap_err().0,
        400,
        "exact match, not a prefix"
    );
    let unknown = browser
        .get(&authorize_url(
            &uuid::Uuid::new_v4().to_string(),
            &redirect,
            &s256,
        ))
        .await;
    assert_eq!(sent_back(&unknown).unwrap_err().0, 400);

    // With a registered address the error goes back there, with state and iss (RFC 9207).
    let error_of = |reply: &Reply| {
        let to = sent_back(reply).expect("sent back");
        assert!(to.as_str().starts_with(&redirect), "{to}");
        assert_eq!(param(&to, "state").as_deref(), Some("st4te"));
        assert_eq!(param(&to, "iss").as_deref(), Some(base.as_str()));
        assert!(param(&to, "code").is_none());
        (
            param(&to, "error").unwrap(),
            param(&to, "error_description").unwrap_or_default(),
        )
    };
    let no_pkce = browser.get(&authorize_url(id, &redirect, &[])).await;
    assert_eq!(
        error_of(&no_pkce).0,
        "invalid_request",
        "a public client must use PKCE"
    );
    let plain = browser
        .get(&authorize_url(
            id,
            &redirect,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
        ))
        .await;
    assert_eq!(error_of(&plain).0, "invalid_request", "plain is refused");
    let token_flow = browser
        .get(&authorize_url(
            id,
            &redirect,
            &[s256[0], s256[1], ("response_type", "token")],
        ))
        .await;
    assert_eq!(
        sent_back(&token_flow).unwrap_err().0,
        400,
        "a repeated parameter is refused before anything"
    );
    let scope = browser
        .get(&authorize_url(
            id,
            &redirect,
            &[s256[0], s256[1], ("prompt", "none"), ("max_age", "x")],
        ))
        .await;
    assert_eq!(error_of(&scope).0, "invalid_request");

    // Signed out, prompt=none answers login_required instead of showing the sign-in page.
    let mut anonymous = Forms::new(&app, &base);
    let silent = anonymous
        .get(&authorize_url(
            id,
            &redirect,
            &[s256[0], s256[1], ("prompt", "none")],
        ))
        .await;
    assert_eq!(error_of(&silent).0, "login_required");
    let to_login = anonymous.get(&authorize_url(id, &redirect, &s256)).await;
    assert_eq!(to_login.status, 303);
    let location = to_login.header("location").unwrap();
    assert!(
        location.starts_with("/login?next=%2Foauth2%2Fauthorize"),
        "{location}"
    );
}

/// Signs in at the authorization endpoint and returns the code.
async fn code(browser: &mut Forms<'_>, id: &str, redirect: &str, challenge: &str) -> String {
    let url = authorize_url(
        id,
        redirect,
        &[
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n-1"),
        ],
    );
    let to = sent_back(&browser.get(&url).await).expect("a code");
    param(&to, "code").expect("a code")
}

#[actix_web::test]
async fn oauth2_a_code_is_single_use_bound_to_its_verifier_and_a_replay_revokes_its_tokens() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let (c, mut browser) = registered_and_signed_in(&app, &base, spa(&base)).await;
    let id = c["client_id"].as_str().unwrap();
    let redirect = format!("{base}/rp/callback");
    let redeem = |code: String, verifier: String| {
        let (app, id, redirect) = (&app, id.to_owned(), redirect.clone());
        async move {
            let fields = [
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("client_id", &id),
                ("code_verifier", &verifier),
            ];
            post_form(app, "/oauth2/token", &fields, &[]).await
        }
    };

    let (verifier, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let first = code(&mut browser, id, &redirect, &challenge).await;
    let wrong = redeem(first, other_verifier).await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.json()["error"], "invalid_grant", "a bad verifier");

    let expired = code(&mut browser, id, &redirect, &challenge).await;
    sqlx::query("UPDATE oauth2_codes SET expires_at = now() - interval '1 second' WHERE code_hash = sha256(convert_to($1, 'UTF8'))")
        .bind(&expired)
        .execute(&app.pool)
        .await
        .unwrap();
    let late = redeem(expired, verifier.clone()).await;
    assert_eq!(late.json()["error"], "invalid_grant", "an expired code");

    let second = code(&mut browser, id, &redirect, &challenge).await;
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM oauth2_codes WHERE code_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&second)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 1, "codes are stored as hashes only");
    let lifetime: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM max(expires_at - now()))::float8 FROM oauth2_codes",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(lifetime <= 60.0, "a code lives at most 60 s: {lifetime}");
    let tokens = redeem(second.clone(), verifier.clone()).await;
    assert_eq!(
        tokens.status,
        200,
        "{}",
        String::from_utf8_lossy(&tokens.body)
    );
    let tokens = tokens.json();
    let (access, refresh) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    );
    let (_, id_claims) = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_claims["nonce"], "n-1");
    assert_eq!(id_claims["aud"], id);
    assert_eq!(
        userinfo(&app, access).await.json()["email"],
        user_body("1")["email"]
    );

    let replayed = redeem(second, verifier).await;
    assert_eq!(replayed.status, 400);
    assert_eq!(replayed.json()["error"], "invalid_grant");
    let after = userinfo(&app, access).await;
    assert_eq!(after.status, 401, "what the code gave is revoked");
    assert!(
        after
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let refreshed = post_form(
        &app,
        "/oauth2/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", id),
        ],
        &[],
    )
    .await;
    assert_eq!(refreshed.json()["error"], "invalid_grant");
}

#[actix_web::test]
async fn oauth2_refresh_tokens_rotate_and_revocation_ends_the_grant() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let (c, mut browser) = registered_and_signed_in(&app, &base, spa(&base)).await;
    let id = c["client_id"].as_str().unwrap();
    let redirect = format!("{base}/rp/callback");
    let (verifier, challenge) = pkce();
    let code = code(&mut browser, id, &redirect, &challenge).await;
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", &redirect),
        ("client_id", id),
        ("code_verifier", &verifier),
    ];
    let tokens = post_form(&app, "/oauth2/token", &fields, &[]).await.json();
    let refresh = |token: String| {
        let (app, id) = (&app, id.to_owned());
        async move {
            post_form(
                app,
                "/oauth2/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                    ("client_id", &id),
                ],
                &[],
            )
            .await
        }
    };
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    // An OAuth refresh token is not a REST API one, nor the reverse.
    let rest = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": first }),
            &[],
        )
        .await;
    assert_eq!(rest.status, 401, "{}", String::from_utf8_lossy(&rest.body));

    let rotated = refresh(first.clone()).await;
    assert_eq!(
        rotated.status,
        200,
        "{}",
        String::from_utf8_lossy(&rotated.body)
    );
    let second = rotated.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let third = refresh(second).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let revoked = post_form(
        &app,
        "/oauth2/revoke",
        &[("token", &third), ("client_id", id)],
        &[],
    )
    .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(
        refresh(third).await.json()["error"],
        "invalid_grant",
        "revoked"
    );
    let unknown = post_form(
        &app,
        "/oauth2/revoke",
        &[("token", "no-such-token"), ("client_id", id)],
        &[],
    )
    .await;
    assert_eq!(
        unknown.status, 200,
        "RFC 7009: the same answer for an unknown token"
    );
}
