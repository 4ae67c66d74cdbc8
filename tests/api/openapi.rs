//! The OpenAPI document covers exactly the routes the public port serves.

use crate::helpers::*;
use hexactor::http::routes::{api_routes, probe_routes};

#[actix_web::test]
async fn every_served_route_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let res = app.get("/api-docs/openapi.json").await;
    assert_eq!(res.status, 200);
    let spec = res.json();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );
    let served: Vec<_> = api_routes()
        .into_iter()
        .chain(probe_routes())
        .map(|(method, path, _)| (method, path))
        .collect();
    assert!(served.len() >= 20);
    for (path, operations) in spec["paths"].as_object().unwrap() {
        let methods = operations.as_object().unwrap().keys().filter(|k| {
            [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&k.as_str())
        });
        for method in methods {
            assert!(
                served
                    .iter()
                    .any(|(m, p)| p == path && m.as_str().eq_ignore_ascii_case(method)),
                "{method} {path} is documented but not served on the public port"
            );
        }
    }
    for (method, path) in served {
        let operation = &spec["paths"][path][method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {path} is served but missing from the OpenAPI document"
        );
    }
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    assert!(spec["components"]["schemas"]["Problem"].is_object());

    let docs = app.get("/docs").await;
    assert_eq!(docs.status, 200);
    let init = app.get("/docs/assets/init.js").await;
    assert!(String::from_utf8_lossy(&init.body).contains("/api-docs/openapi.json"));
}
