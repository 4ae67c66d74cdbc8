//! Bearer authentication: an extractor that yields the caller's [`Principal`].
//!
//! The token's signature and claims are checked in place (pure CPU, microseconds); whether its
//! session is still alive (logout, password change, deactivation) is asked of the auth store
//! actor, which caches the answer briefly.

use super::problem::ApiError;
use crate::application::ports::{CheckSession, TokenService};
use crate::domain::Principal;
use ::actors::Port;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

#[derive(Clone)]
pub struct AuthState {
    pub tokens: Arc<dyn TokenService>,
    pub sessions: Port<CheckSession>,
}

pub struct Authenticated(pub Principal);

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AuthState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("auth state missing".into()))?;
            let token = token.ok_or(ApiError::Unauthorized("a bearer access token is required"))?;
            let verified = state.tokens.verify_access(&token).map_err(|e| {
                tracing::info!(reason = %e, "access token rejected");
                ApiError::Unauthorized("the access token is invalid or expired")
            })?;
            let principal = state
                .sessions
                .ask(CheckSession {
                    session_id: verified.session_id,
                    user_id: verified.user_id,
                })
                .await??
                .ok_or(ApiError::Unauthorized("the session has ended"))?;
            Ok(Authenticated(principal))
        })
    }
}
