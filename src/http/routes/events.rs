//! `GET /api/v1/events`: the public events in the order they became visible, for consumers that
//! pull (admins). The envelope is documented in `docs/events.md`; the cursor is opaque.

use super::ApiState;
use crate::application::event_feed::{FeedEntry, ReadEvents, public_types};
use crate::domain::Role;
use crate::http::auth::Authenticated;
use crate::http::dto::Problem;
use crate::http::problem::ApiError;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const DEFAULT_LIMIT: u32 = 100;
// The same bounds as every list here (the contract states them once, in openapi_contract).
const MAX_LIMIT: u32 = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `next_cursor` of the previous page; absent: from the oldest event kept.
    pub after: Option<String>,
    /// Comma-separated public types (e.g. `user.created,user.updated`); absent: all.
    pub types: Option<String>,
    /// 1 to 100 (default 100).
    pub limit: Option<u32>,
}

/// One event (docs/events.md).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventEnvelopeResponse {
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "user.created")]
    pub event_type: String,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    /// What the event is about (a user's or an OAuth client's id).
    pub subject: String,
    /// 1, 2, … per subject.
    pub sequence: i64,
    /// The event's own fields.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventEnvelopeResponse>,
    /// Pass as `after` for the events that follow (the same cursor again when there are none yet).
    pub next_cursor: String,
}

fn parse_cursor(raw: Option<&str>) -> Result<i64, ApiError> {
    let Some(raw) = raw else { return Ok(0) };
    raw.strip_prefix("ev_")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::BadRequest(format!("{raw:?} is not a cursor this API issued")))
}

fn parse_types(raw: Option<&str>) -> Result<Vec<&'static str>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|wanted| {
            public_types().find(|t| *t == wanted.trim()).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "unknown event type {wanted:?}; the types are {}",
                    public_types().collect::<Vec<_>>().join(", ")
                ))
            })
        })
        .collect()
}

fn envelope(entry: FeedEntry) -> EventEnvelopeResponse {
    let e = entry.envelope;
    EventEnvelopeResponse {
        id: e.id.to_string(),
        event_type: e.event_type,
        timestamp: e.timestamp,
        subject: e.subject.to_string(),
        sequence: e.sequence,
        data: e.data,
    }
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])), params(EventsQuery),
    responses((status = 200, description = "The public events after the cursor, oldest first, in the order they were committed", body = EventPage),
    (status = 400, description = "A cursor this API did not issue, an unknown type or a limit out of range", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn read_events(
    state: web::Data<ApiState>,
    who: Authenticated,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    if who.0.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let after = parse_cursor(query.after.as_deref())?;
    let types = parse_types(query.types.as_deref())?;
    let entries = state
        .events
        .ask(ReadEvents {
            after,
            types,
            limit,
        })
        .await??;
    let last = entries.last().map_or(after, |e| e.position);
    Ok(HttpResponse::Ok().json(EventPage {
        items: entries.into_iter().map(envelope).collect(),
        next_cursor: format!("ev_{last}"),
    }))
}
