//! Cross-replica revocation: each API replica LISTENs on PostgreSQL's `auth_revocations`
//! channel and evicts what a notice names from its own session cache.
//!
//! The notices come from triggers (migration `20261130000010`), so every revocation is covered
//! whoever commits it: logout and session deletion on any replica, password change and
//! deactivation in a worker, role changes. PostgreSQL delivers a notice when the revoking
//! transaction commits, so a revoked token stops working on every replica within that delivery
//! time (milliseconds). While the listening connection is down notices are lost: the whole cache
//! is dropped when the loss is seen, and entries cached meanwhile still expire after
//! `SESSION_CACHE_MS`, which bounds revocation during a database outage.

use crate::domain::UserId;
use ::actors::Port;
use actix::prelude::*;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::time::Duration;
use uuid::Uuid;

pub const CHANNEL: &str = "auth_revocations";

/// What the session cache must forget.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum EvictSessions {
    Session(Uuid),
    User(UserId),
    /// Notices may have been missed: forget everything.
    All,
}

impl EvictSessions {
    /// `session:<uuid>` or `user:<uuid>`, as the triggers write them.
    pub fn parse(payload: &str) -> Option<Self> {
        let (kind, id) = payload.split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "session" => Some(Self::Session(id)),
            "user" => Some(Self::User(UserId::from_uuid(id))),
            _ => None,
        }
    }
}

pub struct RevocationListener {
    pool: PgPool,
    cache: Port<EvictSessions>,
}

impl RevocationListener {
    pub fn new(pool: PgPool, cache: Port<EvictSessions>) -> Self {
        Self { pool, cache }
    }
}

/// Listens until the process ends; reconnects on its own (sqlx re-LISTENs on reconnect).
async fn listen(pool: PgPool, cache: Port<EvictSessions>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "revocation listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "revocation listener cannot LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Anything revoked before this LISTEN took effect was not heard: start clean.
        cache.tell(EvictSessions::All);
        loop {
            match listener.try_recv().await {
                Ok(Some(notice)) => match EvictSessions::parse(notice.payload()) {
                    Some(evict) => cache.tell(evict),
                    None => tracing::warn!(payload = notice.payload(), "unknown revocation notice"),
                },
                // The connection dropped (the next call reconnects): notices may be lost.
                Ok(None) => {
                    tracing::warn!(
                        "revocation listener lost its connection; session cache cleared"
                    );
                    cache.tell(EvictSessions::All);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "revocation listener failed; reconnecting");
                    cache.tell(EvictSessions::All);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
    }
}

impl Actor for RevocationListener {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.spawn(listen(self.pool.clone(), self.cache.clone()).into_actor(self));
    }
}

impl Supervised for RevocationListener {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_trigger_payloads() {
        let id = Uuid::now_v7();
        assert_eq!(
            EvictSessions::parse(&format!("session:{id}")),
            Some(EvictSessions::Session(id))
        );
        assert_eq!(
            EvictSessions::parse(&format!("user:{id}")),
            Some(EvictSessions::User(UserId::from_uuid(id)))
        );
        assert_eq!(EvictSessions::parse("session:nope"), None);
        assert_eq!(EvictSessions::parse(&format!("group:{id}")), None);
    }
}
