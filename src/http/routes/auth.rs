//! `/api/v1/auth/*`: login, refresh-token rotation, logout, token verification.

use super::ApiState;
use crate::application::auth::{Login, LoginOutcome, Logout, Refresh};
use crate::http::auth::Authenticated;
use crate::http::dto::{LoginRequest, RefreshRequest, TokenResponse};
use crate::http::problem::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};

/// One answer for unknown email, wrong password and inactive account.
const INVALID_CREDENTIALS: &str = "invalid email or password";

pub async fn login(state: web::Data<ApiState>, req: HttpRequest, body: web::Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let client_address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into());
    match state.auth.login.ask(Login { email, password, client_address }).await?? {
        LoginOutcome::Success(pair) => Ok(HttpResponse::Ok().json(TokenResponse::from(&pair))),
        LoginOutcome::InvalidCredentials => Err(ApiError::Unauthorized(INVALID_CREDENTIALS)),
        LoginOutcome::Locked { retry_after } => Err(ApiError::TooManyRequests { retry_after }),
    }
}

pub async fn refresh(state: web::Data<ApiState>, body: web::Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    match state.auth.refresh.ask(Refresh { refresh_token: body.into_inner().refresh_token }).await?? {
        Some(pair) => Ok(HttpResponse::Ok().json(TokenResponse::from(&pair))),
        None => Err(ApiError::Unauthorized("the refresh token is invalid, expired or already used")),
    }
}

pub async fn logout(state: web::Data<ApiState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    state.auth.logout.ask(Logout { principal: who.0, everywhere: false }).await??;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn logout_all(state: web::Data<ApiState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    state.auth.logout.ask(Logout { principal: who.0, everywhere: true }).await??;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn verify(who: Authenticated) -> HttpResponse {
    let p = who.0;
    HttpResponse::Ok().json(serde_json::json!({ "valid": true, "user_id": p.user_id, "email": p.email, "role": p.role.as_str() }))
}

pub async fn jwks(state: web::Data<crate::http::auth::AuthState>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("cache-control", "public, max-age=300")).json(state.tokens.jwks())
}
