//! One middleware for every request: request id (accepted or generated, returned, in the log
//! span), HTTP metrics by route pattern, security headers, and `instance` on problem documents.

use super::problem::ApiError;
use crate::trace_context::TraceContext;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;
use tracing::Instrument as _;

/// The `endpoint` label of every request that matched no route.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Client-supplied ids are accepted if short and plain, so they cannot inject into logs.
fn accepted_request_id(req: &ServiceRequest) -> Option<String> {
    let raw = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !raw.is_empty()
        && raw.len() <= 128
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    ok.then(|| raw.to_owned())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = accepted_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    // W3C trace context: the caller's trace continues here (a new span of ours), or one starts.
    let trace = req
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .map_or_else(TraceContext::new_root, |parent| parent.child());
    req.extensions_mut().insert(trace.clone());
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        trace_id = %trace.trace_id(),
        %method,
        path = %req.path()
    );
    let started = Instant::now();
    let in_progress = crate::metrics::InProgress::start();
    let res = next.call(req).instrument(span).await?.map_into_boxed_body();
    drop(in_progress);

    // The route template, never the raw path (ids would explode the label set); every
    // unmatched path shares one value.
    let endpoint = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ENDPOINT.into());
    crate::metrics::http_request(
        &method,
        &endpoint,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    if let Some(error_type) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .and_then(ApiError::server_error_type)
    {
        crate::metrics::application_error(error_type, "http");
    }

    // Problem documents get the request path as their `instance`.
    let mut res = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
    {
        Some(api_error) => {
            let path = res.request().path().to_owned();
            let rebuilt = api_error.to_response(Some(&path));
            res.into_response(rebuilt)
        }
        None => res,
    };
    let headers = res.headers_mut();
    headers.insert(
        REQUEST_ID,
        HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("invalid")),
    );
    if let Ok(value) = HeaderValue::from_str(&trace.to_string()) {
        headers.insert(TRACEPARENT, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The pages set their own (`same-origin`: `no-referrer` would blank their forms' Origin).
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res.map_body(|_, body| body.boxed()))
}
