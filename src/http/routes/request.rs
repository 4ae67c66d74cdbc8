//! Reading the parts of a request every handler family shares: ids in the path, the
//! `Idempotency-Key` and `If-Match` headers, and where a command comes from (`Origin`).

use super::ApiState;
use crate::application::account::Origin;
use crate::http::middleware::RequestId;
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};
use uuid::Uuid;

pub fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::BadRequest(format!("{what} id {raw:?} is not a UUID")))
}

pub fn origin(state: &ApiState, req: &HttpRequest) -> Origin {
    Origin {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        traceparent: req
            .extensions()
            .get::<crate::trace_context::TraceContext>()
            .map(ToString::to_string),
        reply_to: Some(state.reply_queue.clone()),
    }
}

pub(super) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
        })?;
    Ok(Some(key.to_owned()))
}

/// `If-Match: "7"` → Some(7); absent or `*` → None.
pub(super) fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| ApiError::BadRequest("malformed If-Match".into()))?
        .trim();
    if raw == "*" {
        return Ok(None);
    }
    let tag = raw.trim_start_matches("W/").trim_matches('"');
    tag.parse()
        .map(Some)
        .map_err(|_| ApiError::PreconditionFailed)
}
