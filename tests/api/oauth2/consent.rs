//! What the person is asked: consent for a third-party client (asked once per scope set,
//! remembered, listed on the account page and taken back there, which ends its grants), and a new
//! sign-in when the request says so (`prompt=login`, `max_age`, with the `login_hint` filled in).

use super::*;

#[actix_web::test]
async fn oauth2_consent_is_asked_once_remembered_and_taken_back_on_the_account_page() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let (c, mut browser) =
        registered_and_signed_in(&app, &base, web_app(&base, false, &["authorization_code"])).await;
    let (id, secret) = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    let redirect = format!("{base}/rp/callback");
    let request = [
        ("response_type", "code"),
        ("client_id", id),
        ("redirect_uri", redirect.as_str()),
        ("scope", "openid email"),
        ("state", "s"),
    ];
    let authorize = format!(
        "/oauth2/authorize?{}",
        String::from_utf8(form(&request)).unwrap()
    );

    let asked = browser.get(&authorize).await;
    let (status, html) = sent_back(&asked).expect_err("a consent page, not a redirect");
    assert_eq!(status, 200);
    assert!(
        html.contains("Grafana") && html.contains("Allow") && html.contains("Deny"),
        "{html}"
    );
    let csrf = Forms::token(&asked);
    let mut answer = request.to_vec();
    answer.extend([("csrf", csrf.as_str()), ("decision", "deny")]);
    let denied = sent_back(&browser.post("/oauth2/authorize", &answer, None).await)
        .expect("back to the client");
    assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));
    let forged = [
        request.to_vec(),
        vec![("csrf", "forged"), ("decision", "allow")],
    ]
    .concat();
    assert_eq!(
        browser
            .post("/oauth2/authorize", &forged, None)
            .await
            .status,
        403,
        "CSRF-protected"
    );

    answer.pop();
    answer.push(("decision", "allow"));
    let allowed =
        sent_back(&browser.post("/oauth2/authorize", &answer, None).await).expect("a code");
    let code = param(&allowed, "code").expect("a code");
    let again = sent_back(&browser.get(&authorize).await).expect("remembered: straight back");
    assert!(param(&again, "code").is_some());

    let tokens = post_form(
        &app,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
        &[("authorization", &basic(id, secret))],
    )
    .await;
    assert_eq!(
        tokens.status,
        200,
        "{}",
        String::from_utf8_lossy(&tokens.body)
    );
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&app, &access).await.status, 200);

    let listed = browser.get("/account/applications").await;
    assert!(String::from_utf8_lossy(&listed.body).contains("Grafana"));
    let csrf = Forms::token(&listed);
    let revoked = browser
        .post(
            "/account/applications/revoke",
            &[("csrf", &csrf), ("client_id", id)],
            None,
        )
        .await;
    assert_eq!(revoked.status, 303);
    let listed = browser.get("/account/applications").await;
    assert!(
        !String::from_utf8_lossy(&listed.body).contains("Grafana"),
        "gone from the list"
    );
    assert_eq!(userinfo(&app, &access).await.status, 401, "its grant ended");
    let (status, _) = sent_back(&browser.get(&authorize).await).expect_err("asked again");
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn oauth2_prompt_login_and_max_age_ask_for_a_new_sign_in_with_the_login_hint() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let body = web_app(&base, true, &["authorization_code"]);
    let (c, mut browser) = registered_and_signed_in(&app, &base, body).await;
    let email = user_body("1")["email"].as_str().unwrap().to_owned();
    let request = |extra: &[(&'static str, &'static str)]| {
        let mut fields = vec![
            ("response_type", "code"),
            ("client_id", c["client_id"].as_str().unwrap()),
            ("redirect_uri", c["redirect_uris"][0].as_str().unwrap()),
            ("scope", "openid"),
            ("login_hint", email.as_str()),
        ];
        fields.extend_from_slice(extra);
        format!(
            "/oauth2/authorize?{}",
            String::from_utf8(form(&fields)).unwrap()
        )
    };
    let fresh =
        sent_back(&browser.get(&request(&[("max_age", "3600")])).await).expect("recent enough");
    assert!(param(&fresh, "code").is_some());

    let live = "SELECT count(*) FROM auth_sessions WHERE revoked_at IS NULL AND client_id IS NULL";
    let before = app.count(live).await;
    let again = browser.get(&request(&[("prompt", "login")])).await;
    assert_eq!(again.status, 303);
    let to = url::Url::parse(&format!("{base}{}", again.header("location").unwrap())).unwrap();
    assert_eq!(to.path(), "/login");
    assert_eq!(param(&to, "login_hint").as_deref(), Some(email.as_str()));
    let next = param(&to, "next").unwrap();
    assert!(
        next.starts_with("/oauth2/authorize?") && !next.contains("prompt"),
        "{next}"
    );
    let login = browser
        .get(&format!("{}?{}", to.path(), to.query().unwrap()))
        .await;
    assert!(
        String::from_utf8_lossy(&login.body).contains(&format!("value=\"{email}\"")),
        "the hint fills the form"
    );
    assert_eq!(
        app.count(live).await,
        before - 1,
        "the browser's session ended"
    );

    let mut again = signed_in(&app, &base, &email).await;
    let stale = again.get(&request(&[("max_age", "0")])).await;
    assert_eq!(stale.status, 303, "max_age=0: always a new sign-in");
}
