//! The layout every page shares, the headers every page answer carries, and errors as pages.

use super::PageConfig;
use super::error::Detail;
pub use super::error::PageError;
use super::session::Visitor;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, HttpResponseBuilder, web};
use askama::Template;

/// No outside origin, no inline script or style, never framed. `img-src data:` is for nothing
/// yet; the QR code is inline SVG markup.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("../../assets/pages/style.css");

/// What the layout needs: names, the navigation and the sign-out form's token.
pub struct Chrome {
    pub product: String,
    pub custom_css: bool,
    pub signed_in: bool,
    pub admin: bool,
    pub email: String,
    pub csrf: String,
}

impl Chrome {
    pub fn of(visitor: &Visitor) -> Self {
        let config = visitor.config();
        Self {
            product: config.product_name.clone(),
            custom_css: config.stylesheet.is_some(),
            signed_in: visitor.principal.is_some(),
            admin: visitor.is_admin(),
            email: visitor
                .principal
                .as_ref()
                .map(|p| p.email.clone())
                .unwrap_or_default(),
            csrf: visitor.csrf_token(),
        }
    }

    fn anonymous(config: &PageConfig) -> Self {
        Self {
            product: config.product_name.clone(),
            custom_css: config.stylesheet.is_some(),
            signed_in: false,
            admin: false,
            email: String::new(),
            csrf: String::new(),
        }
    }
}

fn secure(builder: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Pages carry one-time tokens in their URL: never a Referer to another origin, no
        // caching. (`no-referrer` would also turn the forms' Origin header into `null`.)
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    secure(&mut HttpResponse::build(status))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// A page, with the visitor's cookies.
pub fn page(visitor: &Visitor, template: &impl Template) -> Result<HttpResponse, PageError> {
    page_with(visitor, StatusCode::OK, template)
}

pub fn page_with(
    visitor: &Visitor,
    status: StatusCode,
    template: &impl Template,
) -> Result<HttpResponse, PageError> {
    let body = template
        .render()
        .map_err(|e| PageError::Internal(format!("template: {e}")))?;
    Ok(visitor.finish(html(status, body)))
}

/// 303 See Other: after a POST the browser GETs the next page.
pub fn redirect(visitor: &Visitor, to: &str) -> HttpResponse {
    visitor.finish(
        secure(&mut HttpResponse::SeeOther())
            .insert_header((header::LOCATION, to.to_owned()))
            .finish(),
    )
}

/// A `?next=` target: a path on this origin, or nothing.
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?;
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    local.then(|| next.to_owned())
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage {
    c: Chrome,
    title: String,
    message: String,
    retry_after: Option<u64>,
}

fn is_page_request(req: &ServiceRequest) -> bool {
    let path = req.path();
    let api = [
        "/api/",
        "/api-docs",
        "/.well-known/",
        "/docs",
        "/health",
        "/ready",
        "/oauth2/",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    html && !api
}

/// Errors to a browser are pages in the same style (404, 405, 429 with the wait, 500), never
/// problem+json: this renders every error answer to a page request that is not a page yet.
pub async fn browser_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let wants_page = is_page_request(&req);
    let config = req.app_data::<web::Data<PageConfig>>().cloned();
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let (Some(config), true, true, false) = (
        config,
        wants_page,
        status.is_client_error() || status.is_server_error(),
        is_html,
    ) else {
        return Ok(response);
    };
    let detail = response.response().extensions().get::<Detail>().cloned();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let message = detail.map(|d| d.0).unwrap_or_else(|| match status {
        StatusCode::NOT_FOUND => "There is no page at this address.".into(),
        StatusCode::METHOD_NOT_ALLOWED => "This page cannot be used that way.".into(),
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts.".into(),
        s if s.is_server_error() => {
            "Something went wrong on our side. Please try again in a moment.".into()
        }
        _ => "The request could not be handled.".into(),
    });
    let page = ErrorPage {
        c: Chrome::anonymous(&config),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        message,
        retry_after,
    };
    let body = page.render().unwrap_or_else(|e| format!("error page: {e}"));
    let mut rendered = html(status, body);
    if let Some(wait) = retry_after {
        rendered
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    let (req, _) = response.into_parts();
    Ok(ServiceResponse::new(req, rendered))
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(STYLESHEET)
}

pub async fn custom_stylesheet(config: web::Data<PageConfig>) -> Result<HttpResponse, PageError> {
    let css = config.stylesheet.clone().ok_or(PageError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(css))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_goes_only_to_this_origin() {
        assert_eq!(local_path(Some("/account")), Some("/account".into()));
        for outside in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "account",
        ] {
            assert_eq!(local_path(Some(outside)), None, "{outside}");
        }
    }
}
