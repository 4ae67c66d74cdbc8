//! Worker side: turns a delivery from the command queue into an application command, and the
//! result into a disposition for the consumer (ack, retry later, or dead-letter).

use super::headers;
use crate::application::commands::{Command, CommandResult};
use crate::application::ports::ApplyCommand;
use ::actors::Port;
use ::actors::rabbit::{Disposition, HandleDelivery, Publish, Publisher};
use actix::prelude::*;
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;
use uuid::Uuid;

/// Sent to the submitting API replica's reply queue when a command reaches a terminal state.
#[derive(Debug, Serialize, Deserialize)]
pub struct CompletionNotice {
    pub command_id: Uuid,
}

pub struct CommandDispatcher {
    applier: Port<ApplyCommand>,
    publisher: ::actors::ActorRef<Publisher>,
}

impl CommandDispatcher {
    pub fn new(applier: Port<ApplyCommand>, publisher: ::actors::ActorRef<Publisher>) -> Self {
        Self { applier, publisher }
    }
}

impl Actor for CommandDispatcher {
    type Context = Context<Self>;
}

impl Supervised for CommandDispatcher {}

/// Decodes a command, telling "not JSON / unknown type" from "a version we do not speak" (each
/// command type declares its own schema version).
pub fn decode(payload: &[u8], schema_version: Option<i64>) -> Result<Command, Disposition> {
    let unknown_version = |v: i64| Disposition::DeadLetter {
        reason: "unknown_version".into(),
        error: format!("schema version {v} is not supported"),
    };
    let spoken = |v: i64| {
        Command::DECLARED
            .iter()
            .any(|d| i64::from(d.schema_version) == v)
    };
    // No command type speaks it: nothing to parse (a newer shape may not parse at all).
    if let Some(v) = schema_version
        && !spoken(v)
    {
        return Err(unknown_version(v));
    }
    let command = serde_json::from_slice::<Command>(payload).map_err(|e| {
        let reason = match serde_json::from_slice::<serde_json::Value>(payload) {
            Ok(value) if value.get("type").is_some() && e.is_data() => "unknown_type_or_invalid",
            _ => "undecodable",
        };
        Disposition::DeadLetter {
            reason: reason.into(),
            error: e.to_string(),
        }
    })?;
    match schema_version {
        Some(v) if v != i64::from(command.schema_version()) => Err(unknown_version(v)),
        _ => Ok(command),
    }
}

impl Handler<HandleDelivery> for CommandDispatcher {
    type Result = ResponseFuture<Disposition>;

    fn handle(&mut self, msg: HandleDelivery, _: &mut Context<Self>) -> Self::Result {
        let incoming = msg.0;
        let applier = self.applier.clone();
        let publisher = self.publisher.clone();
        let request_id = incoming.header_str(headers::REQUEST_ID);
        // The HTTP request's trace continues in the worker: its log lines carry the trace id.
        let trace_id = incoming
            .header_str(headers::TRACEPARENT)
            .and_then(|t| crate::trace_context::TraceContext::parse(&t))
            .map(|t| t.trace_id().to_owned());
        let schema =
            ::actors::rabbit::headers::get_i64(&incoming.properties, headers::SCHEMA_VERSION);
        let reply_to = incoming
            .properties
            .reply_to()
            .as_ref()
            .map(|s| s.as_str().to_owned());
        let span = tracing::info_span!(
            "command",
            request_id = request_id.as_deref(),
            trace_id = trace_id.as_deref(),
            command_id = tracing::field::Empty,
            attempt = incoming.attempt,
            redelivered = incoming.redelivered,
        );
        Box::pin(
            async move {
                let command = match decode(&incoming.payload, schema) {
                    Ok(c) => c,
                    Err(disposition) => {
                        crate::metrics::application_error("poison", "worker");
                        tracing::warn!(?disposition, "dead-lettering an undecodable command");
                        return disposition;
                    }
                };
                tracing::Span::current()
                    .record("command_id", tracing::field::display(command.id()));
                let (id, declaration) = (command.id(), command.declaration());
                match applier.ask(ApplyCommand { command }).await {
                    Ok(Ok(result)) => {
                        match &result {
                            CommandResult::Succeeded { .. } => {
                                crate::metrics::command_outcome(declaration, true);
                            }
                            CommandResult::Rejected(_) => {
                                crate::metrics::command_outcome(declaration, false);
                            }
                            CommandResult::AlreadyApplied(_) => {}
                        }
                        tracing::info!(?result, "command applied");
                        if let Some(queue) = reply_to {
                            let body = serde_json::to_vec(&CompletionNotice { command_id: id })
                                .unwrap_or_default();
                            // Best effort: a missed notice only makes the API fall back to polling.
                            let mut notice = Publish::persistent("", queue, body);
                            notice.mandatory = false;
                            publisher.tell(notice);
                        }
                        Disposition::Ack
                    }
                    Ok(Err(error)) => {
                        crate::metrics::application_error("transient", "worker");
                        tracing::warn!(error = %::actors::ErrorChain(&error), "command failed transiently; will retry");
                        Disposition::Retry {
                            error: ::actors::ErrorChain(&error).to_string(),
                        }
                    }
                    Err(error) => {
                        crate::metrics::application_error("transient", "worker");
                        Disposition::Retry {
                            error: format!("command repository unavailable: {error}"),
                        }
                    }
                }
            }
            .instrument(span),
        )
    }
}

::actors::instrument!(CommandDispatcher: HandleDelivery);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_messages_are_classified() {
        let reason = |d: Disposition| match d {
            Disposition::DeadLetter { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(decode(b"not json", None).unwrap_err()),
            "undecodable"
        );
        assert_eq!(
            reason(decode(br#"{"type":"DropTables"}"#, None).unwrap_err()),
            "unknown_type_or_invalid"
        );
        assert_eq!(
            reason(decode(b"{}", Some(99)).unwrap_err()),
            "unknown_version"
        );
    }
}
