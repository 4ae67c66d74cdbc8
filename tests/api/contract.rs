//! The HTTP contract beyond the OpenAPI test: what a 405 advertises. The full check is the
//! schemathesis run (`make contract`, scripts/schemathesis.sh).

use crate::helpers::*;
use hexactor::http::routes::{api_routes, probe_routes};

#[actix_web::test]
async fn method_not_allowed_lists_the_paths_own_methods() {
    let app = spawn_app().await;
    let routes: Vec<_> = api_routes()
        .into_iter()
        .chain(probe_routes())
        .map(|(method, path, _)| (method, path))
        .collect();
    let mut paths: Vec<&str> = routes.iter().map(|(_, p)| *p).collect();
    paths.dedup();
    for path in paths {
        let mut served: Vec<&str> = routes
            .iter()
            .filter(|(_, p)| *p == path)
            .map(|(m, _)| m.as_str())
            .collect();
        let other = ["PATCH", "DELETE", "PUT", "POST", "GET"]
            .into_iter()
            .find(|m| !served.contains(m))
            .expect("a method the path does not serve");
        let url = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        let res = app.request(other, &url, &[], None).await;
        res.problem(405);
        let mut allow: Vec<String> = res
            .header("allow")
            .expect("Allow")
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        allow.sort();
        served.sort();
        assert_eq!(allow, served, "{other} {path}");
    }
}

/// The spec states what the server enforces (the schemathesis run checks all of it; this keeps
/// the main points from regressing without it).
#[actix_web::test]
async fn the_spec_documents_served_statuses_and_constraints() {
    let app = spawn_app().await;
    let spec = app.get("/api-docs/openapi.json").await.json();
    let op = |path: &str, method: &str| spec["paths"][path][method].clone();
    for status in ["400", "413", "415", "422", "409", "429", "503"] {
        assert!(
            op("/api/v1/users", "post")["responses"][status].is_object(),
            "register documents {status}"
        );
    }
    assert!(op("/api/v1/auth/login", "post")["responses"]["429"].is_object());
    assert!(op("/api/v1/users/me", "get")["responses"]["401"].is_object());
    let params = op("/api/v1/users/{id}", "get")["parameters"].clone();
    let id = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "id")
        .unwrap();
    assert_eq!(id["schema"]["format"], "uuid");
    let params = op("/api/v1/users", "post")["parameters"].clone();
    let key = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .unwrap();
    assert_eq!(key["schema"]["maxLength"], 255);
    let register = &spec["components"]["schemas"]["RegisterUserRequest"]["properties"];
    assert_eq!(register["password"]["minLength"], 8);
    // The maximum is 1,024 bytes; 1,024 code points are at least that many (the rest is a 422).
    assert_eq!(register["password"]["maxLength"], 1024);
    let says = register["password"]["description"].as_str().unwrap();
    for enforced in ["NFKC", "code points", "1,024 bytes", "breached-password"] {
        assert!(says.contains(enforced), "{enforced}: {says}");
    }
    let reset = &spec["components"]["schemas"]["PasswordResetConfirmation"]["properties"];
    assert_eq!(reset["new_password"], register["password"]);
    for (path, method) in [
        ("/api/v1/users", "post"),
        ("/api/v1/users/{id}/password", "put"),
        ("/api/v1/auth/password-reset/confirm", "post"),
    ] {
        let responses = &op(path, method)["responses"];
        let unprocessable = responses["422"]["description"].as_str().unwrap();
        assert!(
            unprocessable.contains("/problems/breached-password"),
            "{path}: {unprocessable}"
        );
        let unavailable = responses["503"]["description"].as_str().unwrap();
        assert!(
            unavailable.contains("/problems/password-screening-unavailable"),
            "{path}"
        );
    }
    assert!(
        !op("/api/v1/auth/login", "post")["responses"]["422"]["description"]
            .as_str()
            .unwrap_or_default()
            .contains("breached")
    );
    assert_eq!(register["username"]["pattern"], "^[A-Za-z0-9_]{3,50}$");
}

/// /docs is served from the binary: the page and its CSP name no other origin, and every
/// script and stylesheet it references is answered by this server.
#[actix_web::test]
async fn docs_page_is_bundled_and_references_no_external_origin() {
    let app = spawn_app().await;
    let page = app.get("/docs").await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(
        !html.contains("://"),
        "an absolute URL in the page:\n{html}"
    );
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(!csp.contains("://") && !csp.contains('*'), "{csp}");
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .expect("script-src");
    assert_eq!(script_src.trim(), "script-src 'self'", "{csp}");

    let references: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with('/'))
        .collect();
    assert!(references.len() >= 3, "{references:?}");
    for reference in references {
        let asset = app.get(reference).await;
        assert_eq!(asset.status, 200, "{reference}");
        assert!(asset.body.len() > 100, "{reference} is empty");
        let kind = asset.header("content-type").unwrap_or_default();
        assert!(
            kind.contains("javascript") || kind.contains("css"),
            "{reference}: {kind}"
        );
    }
    app.get("/docs/assets/nope.js").await.problem(404);
}
