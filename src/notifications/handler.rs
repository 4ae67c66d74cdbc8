//! Turns a `UserCreated` delivery into a [`SendWelcome`] and the result into a disposition.

use super::welcome::{Delivered, NotificationError, SendWelcome, UserCreated};
use crate::domain::EventKind;
use ::actors::Port;
use ::actors::rabbit::{Disposition, HandleDelivery};
use actix::prelude::*;

pub struct UserCreatedHandler {
    sender: Port<SendWelcome>,
}

impl UserCreatedHandler {
    pub fn new(sender: Port<SendWelcome>) -> Self {
        Self { sender }
    }
}

impl Actor for UserCreatedHandler {
    type Context = Context<Self>;
}

impl Supervised for UserCreatedHandler {}

/// Poison (not JSON, another event type, missing fields) is dead-lettered, never retried.
pub fn decode(payload: &[u8]) -> Result<UserCreated, Disposition> {
    decode_as(payload, &[EventKind::UserCreated])
}

/// Reads an event of one of `kinds` (its `"type"` tag) into `T`; anything else is poison.
pub fn decode_as<T: serde::de::DeserializeOwned>(
    payload: &[u8],
    kinds: &[EventKind],
) -> Result<T, Disposition> {
    let types: Vec<&str> = kinds.iter().map(|k| k.declaration().kind).collect();
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| Disposition::DeadLetter {
            reason: "undecodable".into(),
            error: e.to_string(),
        })?;
    let kind = value.get("type").and_then(|t| t.as_str());
    if !kind.is_some_and(|k| types.contains(&k)) {
        return Err(Disposition::DeadLetter {
            reason: "unknown_type".into(),
            error: format!("expected one of {types:?}, got type {kind:?}"),
        });
    }
    serde_json::from_value(value).map_err(|e| Disposition::DeadLetter {
        reason: "undecodable".into(),
        error: e.to_string(),
    })
}

/// A sender's answer as a disposition: sent (or sent before) is acked, a failure is retried.
pub fn settle(answer: Result<Result<Delivered, NotificationError>, MailboxError>) -> Disposition {
    match answer {
        Ok(Ok(_)) => Disposition::Ack,
        Ok(Err(error)) => Disposition::Retry {
            error: error.to_string(),
        },
        Err(error) => Disposition::Retry {
            error: format!("sender unavailable: {error}"),
        },
    }
}

impl Handler<HandleDelivery> for UserCreatedHandler {
    type Result = ResponseFuture<Disposition>;

    fn handle(&mut self, msg: HandleDelivery, _: &mut Context<Self>) -> Self::Result {
        let sender = self.sender.clone();
        Box::pin(async move {
            let event = match decode(&msg.0.payload) {
                Ok(event) => event,
                Err(disposition) => {
                    tracing::warn!(?disposition, "dead-lettering an undecodable event");
                    return disposition;
                }
            };
            settle(sender.ask(SendWelcome::from(event)).await)
        })
    }
}

::actors::instrument!(UserCreatedHandler: HandleDelivery);

#[cfg(test)]
mod tests {
    use super::*;
    use ::actors::ActorRef;
    use ::actors::rabbit::Incoming;
    use std::sync::{Arc, Mutex};

    fn reason(d: Disposition) -> String {
        match d {
            Disposition::DeadLetter { reason, .. } => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn poison_is_classified() {
        assert_eq!(reason(decode(b"nope").unwrap_err()), "undecodable");
        assert_eq!(
            reason(decode(br#"{"type":"UserDeactivated"}"#).unwrap_err()),
            "unknown_type"
        );
        assert_eq!(
            reason(decode(br#"{"type":"UserCreated","event_id":"x"}"#).unwrap_err()),
            "undecodable"
        );
    }

    /// An in-memory sender: idempotent by event id, can be told to fail.
    struct FakeSender {
        sent: Arc<Mutex<Vec<uuid::Uuid>>>,
        fail: bool,
    }
    impl Actor for FakeSender {
        type Context = Context<Self>;
    }
    impl Handler<SendWelcome> for FakeSender {
        type Result = Result<Delivered, NotificationError>;
        fn handle(&mut self, msg: SendWelcome, _: &mut Context<Self>) -> Self::Result {
            if self.fail {
                return Err(NotificationError("smtp down".into()));
            }
            let mut sent = self.sent.lock().unwrap();
            if sent.contains(&msg.event_id) {
                return Ok(Delivered::AlreadySent);
            }
            sent.push(msg.event_id);
            Ok(Delivered::Sent)
        }
    }
    ::actors::instrument!(FakeSender: SendWelcome);

    fn delivery(payload: &[u8]) -> HandleDelivery {
        HandleDelivery(Incoming {
            payload: payload.to_vec(),
            properties: Default::default(),
            redelivered: false,
            queue: "q".into(),
            attempt: 1,
        })
    }

    #[actix_rt::test]
    async fn a_redelivered_event_welcomes_once_and_failures_are_retried() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let ok = ActorRef::new(
            FakeSender {
                sent: sent.clone(),
                fail: false,
            }
            .start(),
        );
        let handler = ActorRef::new(UserCreatedHandler::new(ok.port()).start());
        let event = br#"{"type":"UserCreated","event_id":"0196f6a4-0000-7000-8000-000000000001",
            "user_id":"0196f6a4-0000-7000-8000-000000000002","email":"a@example.com","username":"ada",
            "occurred_at":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(
            handler.ask(delivery(event)).await.unwrap(),
            Disposition::Ack
        );
        assert_eq!(
            handler.ask(delivery(event)).await.unwrap(),
            Disposition::Ack
        );
        assert_eq!(sent.lock().unwrap().len(), 1);

        let failing = ActorRef::new(FakeSender { sent, fail: true }.start());
        let handler = ActorRef::new(UserCreatedHandler::new(failing.port()).start());
        assert!(matches!(
            handler.ask(delivery(event)).await.unwrap(),
            Disposition::Retry { .. }
        ));
    }
}
