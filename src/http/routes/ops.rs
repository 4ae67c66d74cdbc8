//! Liveness, readiness, metrics and the supervision tree.

use super::OpsState;
use crate::http::problem::PROBLEM_JSON;
use crate::infrastructure::health::CheckReadiness;
use actix_web::{HttpResponse, web};

#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, description = "Liveness")))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/ready", tag = "ops", responses((status = 200, description = "PostgreSQL and RabbitMQ reachable (503 names what is not)")))]
pub async fn ready(state: web::Data<OpsState>) -> HttpResponse {
    let readiness = state.readiness.ask(CheckReadiness).await.ok();
    let (pg, mq) = readiness
        .map(|r| (r.postgres, r.rabbitmq))
        .unwrap_or((false, false));
    let checks = serde_json::json!({
        "postgres": if pg { "ok" } else { "unavailable" },
        "rabbitmq": if mq { "ok" } else { "unavailable" },
    });
    if pg && mq {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "checks": checks }))
    } else {
        let failed: Vec<&str> = [("postgres", pg), ("rabbitmq", mq)]
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| *n)
            .collect();
        HttpResponse::ServiceUnavailable()
            .content_type(PROBLEM_JSON)
            .json(serde_json::json!({
                "type": "/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": format!("unavailable: {}", failed.join(", ")),
                "checks": checks,
            }))
    }
}

#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::render())
}

#[utoipa::path(get, path = "/debug/supervision", tag = "ops", responses((status = 200, description = "The supervision tree")))]
pub async fn supervision(state: web::Data<OpsState>) -> HttpResponse {
    match state.supervisor.describe().await {
        Some(tree) => HttpResponse::Ok().json(tree),
        None => HttpResponse::ServiceUnavailable().finish(),
    }
}
