//! A strict relying party (the `openidconnect` crate) against the provider, the person's part
//! (sign-in, consent) done in headless Chromium: discovery, code + PKCE, the ID token checked
//! (signature by the JWKS, issuer, audience, nonce, `at_hash`), userinfo, refresh rotation with
//! reuse detection, remembered consent, and RP-initiated logout.

use super::*;
use crate::pages::browser::Browser;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
    UserInfoClaims,
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

/// The relying party's HTTP client: awc (already in the tree) behind openidconnect's
/// `AsyncHttpClient`, whose blanket impl takes a closure.
async fn send(
    client: awc::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let method = awc::http::Method::from_bytes(request.method().as_str().as_bytes()).unwrap();
    let mut req = client.request(method, request.uri().to_string());
    for (name, value) in request.headers() {
        req = req.insert_header((name.as_str(), value.as_bytes()));
    }
    let mut res = req
        .send_body(request.body().clone())
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let body = res
        .body()
        .limit(1 << 20)
        .await
        .map_err(|e| HttpError(e.to_string()))?
        .to_vec();
    let mut response = openidconnect::http::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        response = response.header(name.as_str(), value.as_bytes());
    }
    response.body(body).map_err(|e| HttpError(e.to_string()))
}

/// Until the browser is at `prefix` (the continue page refreshes there by itself).
async fn arrive(b: &Browser, prefix: &str) -> url::Url {
    let mut at = None;
    eventually(
        "the browser is sent back to the client",
        Duration::from_secs(20),
        async || {
            let url = b.client.current_url().await.expect("a URL");
            let there = url.as_str().starts_with(prefix);
            at = Some(url);
            there
        },
    )
    .await;
    url::Url::parse(at.unwrap().as_str()).unwrap()
}

#[actix_web::test]
async fn oauth2_a_relying_party_signs_a_person_in_with_code_and_pkce_refreshes_and_logs_out() {
    let (app, _smtp, _ns, base) = crate::pages::spawn_pages_app(&[]).await;
    let admin = app.admin().await;
    let (user, _) = app.user("1").await;
    let email = user["email"].as_str().unwrap();
    let registered = client(
        &app,
        &admin,
        web_app(&base, false, &["authorization_code", "refresh_token"]),
    )
    .await;
    let callback = format!("{base}/rp/callback");

    let http = {
        let client = awc::Client::builder().disable_redirects().finish();
        move |request| send(client.clone(), request)
    };
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(base.clone()).unwrap(), &http)
            .await
            .expect("discovery, with the JWKS");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered["client_id"].as_str().unwrap().to_owned()),
        Some(ClientSecret::new(
            registered["client_secret"].as_str().unwrap().to_owned(),
        )),
    )
    .set_redirect_uri(RedirectUrl::new(callback.clone()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let b = Browser::open(&base).await;
    b.go(authorize.as_str()).await;
    assert_eq!(
        b.path().await.split('?').next(),
        Some("/login"),
        "sign in first"
    );
    b.fill("Email", email).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    let consent = b.text().await;
    assert!(
        consent.contains("Grafana") && consent.contains("See your email address"),
        "{consent}"
    );
    b.check_page("oauth2-consent").await;
    b.press("Allow").await;
    let back = arrive(&b, &callback).await;
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some(base.as_str()),
        "RFC 9207"
    );

    let code = AuthorizationCode::new(param(&back, "code").expect("a code"));
    let tokens = rp
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("tokens for the code");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token: signature, iss, aud, exp, nonce");
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected, "at_hash matches the access token");
    assert_eq!(claims.subject().as_str(), user["id"].as_str().unwrap());
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some(email),
        "the email scope's claims"
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd"]);

    let info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = rp
        .user_info(
            tokens.access_token().to_owned(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some(email));
    assert_eq!(info.email_verified(), Some(false));
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        user["username"].as_str()
    );

    // Refresh rotates; the spent token coming back revokes the whole grant.
    let first = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let refreshed = rp
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refreshed");
    let second = refreshed
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert_ne!(second.secret(), first.secret());
    assert!(
        rp.exchange_refresh_token(&first)
            .unwrap()
            .request_async(&http)
            .await
            .is_err(),
        "reuse detected"
    );
    assert!(
        rp.exchange_refresh_token(&second)
            .unwrap()
            .request_async(&http)
            .await
            .is_err(),
        "the family is revoked"
    );

    // Consent is remembered: a second sign-in goes straight back.
    let (again, _, nonce2) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .url();
    b.go(again.as_str()).await;
    let back = arrive(&b, &callback).await;
    let tokens = rp
        .exchange_code(AuthorizationCode::new(param(&back, "code").unwrap()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("a confidential client may go without PKCE");
    let id_token = tokens.id_token().unwrap().clone();
    id_token
        .claims(&rp.id_token_verifier(), &nonce2)
        .expect("valid");

    b.go("/account/applications").await;
    assert!(
        b.text().await.contains("Grafana"),
        "listed under Connected applications"
    );
    b.check_page("connected-applications").await;

    // RP-initiated logout: the browser session and what was granted in it end.
    let logout = url::Url::parse_with_params(
        &format!("{base}/oauth2/logout"),
        &[
            ("id_token_hint", id_token.to_string()),
            ("post_logout_redirect_uri", format!("{base}/rp/signed-out")),
            ("state", "bye".into()),
        ],
    )
    .unwrap();
    b.go(logout.as_str()).await;
    let out = arrive(&b, &format!("{base}/rp/signed-out")).await;
    assert_eq!(param(&out, "state").as_deref(), Some("bye"));
    let ended: Result<UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim>, _> = rp
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        ended.is_err(),
        "the access token of the ended session no longer works at userinfo"
    );
    b.go("/account").await;
    assert_eq!(
        b.path().await.split('?').next(),
        Some("/login"),
        "signed out in the browser too"
    );
}
