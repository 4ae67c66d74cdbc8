//! The OpenID Connect provider: a certified-grade relying party (the `openidconnect` crate)
//! through the whole browser flow, and each rule and error path over plain HTTP.

mod clients;
mod consent;
mod flows;
mod relying_party;
mod tokens;

use crate::helpers::*;
use crate::pages::guards::Forms;
use base64::Engine as _;
use serde_json::{Value, json};

pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Registers a client as `admin`; returns its JSON (with `client_secret` for a confidential one).
pub async fn client(app: &TestApp, admin: &str, body: Value) -> Value {
    let res = app
        .send_as("POST", "/api/v1/oauth2/clients", admin, Some(&body), &[])
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

/// A confidential web app's registration, first-party or not.
pub fn web_app(base: &str, first_party: bool, grants: &[&str]) -> Value {
    json!({
        "name": "Grafana",
        "redirect_uris": [format!("{base}/rp/callback")],
        "post_logout_redirect_uris": [format!("{base}/rp/signed-out")],
        "grant_types": grants,
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": ["openid", "profile", "email", "offline_access"],
        "first_party": first_party,
    })
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

/// `Authorization: Basic` for a client.
pub fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// POSTs a form to an OAuth endpoint, with extra headers.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Reply {
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    app.request("POST", path, &all, Some(form(fields))).await
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    use sha2::Digest as _;
    let verifier =
        B64.encode(uuid::Uuid::new_v4().as_bytes()) + &B64.encode(uuid::Uuid::new_v4().as_bytes());
    let challenge = B64.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The claims of a JWT, unchecked (the tests that check signatures use the relying party).
pub fn claims(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut decode =
        || serde_json::from_slice::<Value>(&B64.decode(parts.next().unwrap()).unwrap()).unwrap();
    (decode(), decode())
}

/// A signed-in browser without a browser: the sign-in form, its cookies kept.
pub async fn signed_in<'a>(app: &'a TestApp, base: &str, email: &str) -> Forms<'a> {
    signed_in_as(app, base, email, PASSWORD).await
}

pub async fn signed_in_as<'a>(
    app: &'a TestApp,
    base: &str,
    email: &str,
    password: &str,
) -> Forms<'a> {
    let mut forms = Forms::new(app, base);
    let login = forms.get("/login").await;
    let token = Forms::token(&login);
    let signed = forms
        .post(
            "/login",
            &[("email", email), ("password", password), ("csrf", &token)],
            None,
        )
        .await;
    assert_eq!(signed.status, 303, "signed in");
    forms
}

/// Where the authorization endpoint sends the browser back to (its continue page's link), or
/// the status and body it answered with instead.
pub fn sent_back(reply: &Reply) -> Result<url::Url, (u16, String)> {
    let html = String::from_utf8_lossy(&reply.body).into_owned();
    match html.find("url=") {
        Some(at) if reply.status == 200 => {
            let to = html[at + 4..].split('"').next().unwrap();
            // Undo the HTML escaping of the attribute.
            let to = [
                ("&#38;", "&"),
                ("&amp;", "&"),
                ("&#39;", "'"),
                ("&#34;", "\""),
                ("&quot;", "\""),
            ]
            .iter()
            .fold(to.to_owned(), |s, (from, into)| s.replace(from, into));
            Ok(url::Url::parse(&to).expect("a URL"))
        }
        _ => Err((reply.status, html)),
    }
}

/// The query parameter `name` of `url`.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `GET /oauth2/userinfo` with `token` as the bearer.
pub async fn userinfo(app: &TestApp, token: &str) -> Reply {
    let bearer = format!("Bearer {token}");
    app.request(
        "GET",
        "/oauth2/userinfo",
        &[("authorization", &bearer)],
        None,
    )
    .await
}

/// An admin registers `body`; a user signs in at the browser: the client and the cookie jar.
pub async fn registered_and_signed_in<'a>(
    app: &'a TestApp,
    base: &str,
    body: Value,
) -> (Value, Forms<'a>) {
    let admin = app.admin().await;
    let (user, _) = app.user("1").await;
    let client = client(app, &admin, body).await;
    let forms = signed_in(app, base, user["email"].as_str().unwrap()).await;
    (client, forms)
}
