//! CORS on the endpoints a browser app calls itself (token, userinfo, revocation): allowed for
//! the origin of a *public* client's redirect URI and no other (RFC 9700 §2.6 leaves the choice;
//! a confidential client's backend needs none). Independent of `ALLOWED_ORIGINS`, which is the
//! REST API's.

use crate::application::oauth2::ports::PublicClientOrigin;
use crate::http::ApiState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

/// The request's `Origin`, when a public client's redirect URIs are on it.
pub async fn allowed_origin(state: &ApiState, req: &HttpRequest) -> Option<HeaderValue> {
    let origin = req.headers().get(header::ORIGIN)?;
    let text = origin.to_str().ok()?.to_owned();
    let allowed = state
        .oauth2
        .public_origin
        .ask(PublicClientOrigin { origin: text })
        .await;
    match allowed {
        Ok(Ok(true)) => Some(origin.clone()),
        Ok(Ok(false)) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %actors::ErrorChain(&e), "CORS origin check failed");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "CORS origin check failed");
            None
        }
    }
}

/// Adds the CORS answer for `origin` (if allowed) to a response.
pub fn with_cors(mut response: HttpResponse, origin: Option<HeaderValue>) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

/// The preflight (`OPTIONS`): what a public client's page may send.
pub async fn preflight(state: web::Data<ApiState>, req: HttpRequest) -> HttpResponse {
    let origin = allowed_origin(&state, &req).await;
    let mut response = HttpResponse::NoContent();
    if origin.is_some() {
        response
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
    }
    with_cors(response.finish(), origin)
}
