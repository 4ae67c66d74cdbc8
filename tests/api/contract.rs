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
