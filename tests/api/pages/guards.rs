//! What guards the pages, over plain HTTP: CSRF token and origin, the headers and cookie
//! attributes, errors as pages, the admin console's 404, `?next=`, the https requirement.

use super::spawn_pages_app;
use crate::helpers::*;
use std::collections::BTreeMap;

/// A form-posting client that keeps the cookies it is given, like a browser.
pub(crate) struct Forms<'a> {
    app: &'a TestApp,
    /// Redirects are answers to look at, not to follow.
    client: awc::Client,
    origin: String,
    jar: BTreeMap<String, String>,
}

const PAGE: (&str, &str) = ("accept", "text/html");

impl<'a> Forms<'a> {
    pub(crate) fn new(app: &'a TestApp, origin: &str) -> Self {
        let client = awc::Client::builder().disable_redirects().finish();
        Self {
            app,
            client,
            origin: origin.to_owned(),
            jar: BTreeMap::new(),
        }
    }

    fn keep(&mut self, reply: &Reply) {
        for value in reply.headers.get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, v) = pair.split_once('=').unwrap();
            if value.contains("Max-Age=0") || v.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), v.to_owned());
            }
        }
    }

    pub(crate) fn cookie(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn get(&mut self, path: &str) -> Reply {
        let cookie = self.cookie();
        let reply = self
            .send("GET", path, &[PAGE, ("cookie", &cookie)], None)
            .await;
        self.keep(&reply);
        reply
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.app.address));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = req
            .send_body(body.unwrap_or_default())
            .await
            .expect("request sent");
        let body = res.body().limit(1 << 20).await.expect("a body").to_vec();
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body,
        }
    }

    /// The CSRF token in the page's first form.
    pub(crate) fn token(reply: &Reply) -> String {
        let html = String::from_utf8_lossy(&reply.body);
        let at = html
            .find("name=\"csrf\" value=\"")
            .expect("a form with a token")
            + 19;
        html[at..].split('"').next().unwrap().to_owned()
    }

    pub(crate) async fn post(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let cookie = self.cookie();
        let origin = origin
            .map(str::to_owned)
            .unwrap_or_else(|| self.origin.clone());
        let headers = [
            PAGE,
            ("cookie", &cookie),
            ("origin", &origin),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let reply = self
            .send("POST", path, &headers, Some(body.into_bytes()))
            .await;
        self.keep(&reply);
        reply
    }
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

#[actix_web::test]
async fn a_form_without_its_token_or_from_another_origin_is_refused() {
    let (app, _smtp, _ns, base) = spawn_pages_app(&[]).await;
    let (user, _) = app.user("1").await;
    let email = user["email"].as_str().unwrap();
    let mut forms = Forms::new(&app, &base);
    let login = forms.get("/login").await;
    let token = Forms::token(&login);
    let credentials = [("email", email), ("password", PASSWORD)];

    let missing = forms.post("/login", &credentials, None).await;
    assert_eq!(missing.status, 403, "{}", text(&missing));
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(text(&missing).contains("This form was refused"));

    let with_token = [credentials[0], credentials[1], ("csrf", token.as_str())];
    let elsewhere = forms
        .post("/login", &with_token, Some("https://evil.example"))
        .await;
    assert_eq!(
        elsewhere.status, 403,
        "another origin is refused even with the token"
    );
    let forged = "x".repeat(43);
    let wrong = [credentials[0], credentials[1], ("csrf", forged.as_str())];
    assert_eq!(forms.post("/login", &wrong, None).await.status, 403);
    let live = "SELECT count(*) FROM auth_sessions WHERE revoked_at IS NULL";
    assert_eq!(
        app.count(live).await,
        1,
        "no refused form signed in (the one session is app.user's)"
    );

    let signed_in = forms.post("/login", &with_token, None).await;
    assert_eq!(signed_in.status, 303, "{}", text(&signed_in));
    assert_eq!(signed_in.header("location").as_deref(), Some("/account"));
    assert_eq!(app.count(live).await, 2);
    // Signed in, the token is the session's: the anonymous one no longer works.
    let stale = forms
        .post("/logout", &[("csrf", token.as_str())], None)
        .await;
    assert_eq!(stale.status, 403);
}

#[actix_web::test]
async fn pages_carry_a_strict_policy_and_host_only_secure_cookies() {
    let (app, _smtp, _ns, base) = spawn_pages_app(&[]).await;
    let mut forms = Forms::new(&app, &base);
    let login = forms.get("/login").await;
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("http"), "no outside origin: {csp}");
    assert_eq!(login.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        login.header("referrer-policy").as_deref(),
        Some("same-origin")
    );
    let cookie = login.header("set-cookie").expect("the CSRF seed");
    assert!(cookie.starts_with("__Host-hexactor-csrf="), "{cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");

    let (user, _) = app.user("1").await;
    let token = Forms::token(&login);
    let fields = [
        ("email", user["email"].as_str().unwrap()),
        ("password", PASSWORD),
        ("csrf", &token),
        ("next", "https://evil.example/x"),
    ];
    let signed_in = forms.post("/login", &fields, None).await;
    assert_eq!(
        signed_in.header("location").as_deref(),
        Some("/account"),
        "?next= stays on this origin"
    );
    let session = signed_in
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-hexactor-session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    // An edited cookie is no session at all.
    forms.jar.insert(
        "__Host-hexactor-session".into(),
        forms.jar["__Host-hexactor-session"].replace('.', ".9"),
    );
    let edited = forms.get("/account").await;
    assert_eq!(edited.status, 303);
    assert_eq!(
        edited.header("location").as_deref(),
        Some("/login?next=/account")
    );
}

#[actix_web::test]
async fn errors_are_pages_to_a_browser_and_the_console_is_hidden_from_users() {
    let (app, _smtp, _ns, base) = spawn_pages_app(&[]).await;
    let missing = app.request("GET", "/no-such-page", &[PAGE], None).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("text/html"),
        "a page, not problem+json"
    );
    assert!(text(&missing).contains("There is no page at this address."));
    app.request("GET", "/no-such-page", &[], None)
        .await
        .problem(404);

    let (user, _) = app.user("1").await;
    let mut forms = Forms::new(&app, &base);
    let token = Forms::token(&forms.get("/login").await);
    let fields = [
        ("email", user["email"].as_str().unwrap()),
        ("password", PASSWORD),
        ("csrf", &token),
    ];
    assert_eq!(forms.post("/login", &fields, None).await.status, 303);
    assert_eq!(forms.get("/account").await.status, 200);
    let console = forms.get("/admin").await;
    assert_eq!(
        console.status, 404,
        "a user does not learn the console exists"
    );
    assert_eq!(
        text(&console),
        text(&missing).replace("no-such-page", "admin"),
        "the very same page"
    );
}

#[actix_web::test]
async fn a_rate_limited_form_is_a_page_with_the_wait() {
    let (app, _smtp, _ns, base) =
        spawn_pages_app(&[("RATE_LIMIT_PER_MINUTE", "1"), ("RATE_LIMIT_BURST", "1")]).await;
    let mut forms = Forms::new(&app, &base);
    let token = Forms::token(&forms.get("/forgot-password").await);
    let fields = [("email", "someone@example.com"), ("csrf", token.as_str())];
    assert_eq!(
        forms.post("/forgot-password", &fields, None).await.status,
        200
    );
    let limited = forms.post("/forgot-password", &fields, None).await;
    assert_eq!(limited.status, 429);
    assert!(
        limited
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let wait = limited.header("retry-after").expect("Retry-After");
    assert!(
        text(&limited).contains(&format!("You can try again in {wait} seconds.")),
        "{}",
        text(&limited)
    );
}

#[actix_web::test]
async fn plain_http_elsewhere_gets_a_page_saying_https_is_needed() {
    let (app, _smtp, _ns) =
        crate::smtp::spawn_with_mail(&[("PUBLIC_BASE_URL", "http://id.example.test")]).await;
    let page = app.request("GET", "/login", &[PAGE], None).await;
    assert_eq!(page.status, 503);
    assert!(
        text(&page).contains("These pages need https"),
        "{}",
        text(&page)
    );
    assert!(
        page.header("set-cookie").is_none(),
        "no cookie that would silently fail"
    );

    let (off, _smtp, _ns) = crate::smtp::spawn_with_mail(&[("UI_ENABLED", "false")]).await;
    off.request("GET", "/login", &[], None).await.problem(404);
}

#[actix_web::test]
async fn the_sign_up_page_refuses_a_breached_password_at_its_field() {
    let breached = hexactor::infrastructure::breached_passwords::ScreenPassword::of(PASSWORD);
    let file = TempFile::with(&format!("{}:7\n", breached.sha1));
    let (app, _smtp, _ns, base) =
        spawn_pages_app(&[("BREACHED_PASSWORDS_FILE", file.path())]).await;
    let mut forms = Forms::new(&app, &base);
    let token = Forms::token(&forms.get("/register").await);
    let mut fields = vec![
        ("email", "page@example.com"),
        ("username", "page_person"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("password", PASSWORD),
        ("csrf", token.as_str()),
    ];
    let refused = forms.post("/register", &fields, None).await;
    assert_eq!(refused.status, 422, "{}", text(&refused));
    assert!(
        text(&refused)
            .contains("id=\"password-error\">This password appears in known data breaches"),
        "{}",
        text(&refused)
    );
    assert_eq!(app.count("SELECT count(*) FROM commands").await, 0);
    fields[4] = ("password", "a fresh and unlisted passphrase 7");
    let token = Forms::token(&refused);
    fields[5] = ("csrf", token.as_str());
    let accepted = forms.post("/register", &fields, None).await;
    assert_eq!(accepted.status, 201, "{}", text(&accepted));
}
