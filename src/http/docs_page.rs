//! `/docs`: the interactive API documentation, served entirely from the binary. The viewer is
//! Swagger UI, vendored into `assets/docs/` at a pinned version (scripts/vendor-docs-viewer.sh)
//! and embedded with `include_bytes!`: the page works offline, and its CSP allows only this
//! origin ('self'), never a CDN.

use super::problem::ApiError;
use actix_web::{HttpResponse, web};

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hexactor API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>"#;

/// Swagger UI sets `style` attributes, hence 'unsafe-inline' for styles only; scripts come only
/// from this origin, and the page may fetch only this origin's OpenAPI document.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// `(name, content type, bytes)` of every asset the page loads.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui.css"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/init.js"),
    ),
];

#[utoipa::path(get, path = "/docs", tag = "ops", responses((status = 200, description = "Interactive API documentation (bundled Swagger UI)", content_type = "text/html")))]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", CSP))
        .body(PAGE)
}

#[utoipa::path(get, path = "/docs/assets/{file}", tag = "ops",
    params(("file" = String, Path, description = "An asset of the /docs page", example = "init.js")),
    responses((status = 200, description = "The asset"), (status = 404, description = "No such asset", body = super::dto::Problem, content_type = "application/problem+json")))]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(|| ApiError::NotFound("no such asset".into()))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        // The assets change only with the binary.
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(*bytes))
}
