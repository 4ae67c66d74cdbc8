//! Liveness, readiness, metrics and the supervision tree.

use super::OpsState;
use crate::application::readiness::CheckReadiness;
use crate::http::problem::PROBLEM_JSON;
use actix_web::{HttpResponse, web};

#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, description = "Liveness")))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 when this process can do its job: for the API a broker outage is only `degraded`
/// (commands wait in the outbox and are answered 202); for a worker either dependency down is 503.
#[utoipa::path(get, path = "/ready", tag = "ops", responses((status = 200, description = "Ready, or degraded: an API without the broker still accepts commands (they wait in the outbox)"), (status = 503, description = "Not ready: PostgreSQL unreachable, or a worker without the broker (names what is not)")))]
pub async fn ready(state: web::Data<OpsState>) -> HttpResponse {
    let readiness = state.readiness.ask(CheckReadiness).await.ok();
    let (pg, mq, broker_required) = readiness
        .map(|r| (r.postgres, r.rabbitmq, r.broker_required))
        .unwrap_or((false, false, true));
    let rabbitmq = match (mq, broker_required) {
        (true, _) => "ok",
        (false, false) => "degraded",
        (false, true) => "unavailable",
    };
    let checks = serde_json::json!({
        "postgres": if pg { "ok" } else { "unavailable" },
        "rabbitmq": rabbitmq,
    });
    if pg && (mq || !broker_required) {
        let status = if mq { "ready" } else { "degraded" };
        HttpResponse::Ok().json(serde_json::json!({ "status": status, "checks": checks }))
    } else {
        let failed: Vec<&str> = [("postgres", pg), ("rabbitmq", mq || !broker_required)]
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
