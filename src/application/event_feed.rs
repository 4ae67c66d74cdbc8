//! The events feed's port: the public events (those whose declaration names a public type),
//! in the order they became visible, for consumers that pull (`GET /api/v1/events`). The
//! envelope is a public, versioned contract, described in `docs/events.md`.

use super::ports::InfraError;
use crate::domain::DomainEvent;
use actix::Message;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One event as an outside consumer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope {
    /// The event's id, the same for its whole life (consumers de-duplicate by it).
    pub id: Uuid,
    /// The public type, e.g. `user.created`.
    pub event_type: String,
    pub timestamp: DateTime<Utc>,
    /// What the event is about (a user's or an OAuth client's id).
    pub subject: Uuid,
    /// 1, 2, … per subject: a consumer orders one subject's events by it.
    pub sequence: i64,
    /// The event's own fields.
    pub data: serde_json::Value,
}

/// An envelope and where it stands in the feed (the cursor after it).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub position: i64,
    pub envelope: EventEnvelope,
}

/// The events after `after` (0: from the oldest kept), at most `limit`, optionally only some
/// public types.
#[derive(Message)]
#[rtype(result = "Result<Vec<FeedEntry>, InfraError>")]
pub struct ReadEvents {
    pub after: i64,
    pub types: Vec<&'static str>,
    pub limit: u32,
}

/// Every public type, in declaration order (what `types=` accepts).
pub fn public_types() -> impl Iterator<Item = &'static str> {
    DomainEvent::KINDS
        .iter()
        .filter_map(|kind| kind.declaration().public_type)
}
