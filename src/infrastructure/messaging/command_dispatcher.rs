//! Worker side: turns a delivery from the command queue into an application command, and the
//! result into a disposition for the consumer (ack, retry later, or dead-letter).

use super::headers;
use crate::application::command_executor::ExecuteCommand;
use crate::application::commands::{COMMAND_SCHEMA_VERSION, Command, CommandResult};
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
    executor: Port<ExecuteCommand>,
    publisher: ::actors::ActorRef<Publisher>,
}

impl CommandDispatcher {
    pub fn new(executor: Port<ExecuteCommand>, publisher: ::actors::ActorRef<Publisher>) -> Self {
        Self {
            executor,
            publisher,
        }
    }
}

impl Actor for CommandDispatcher {
    type Context = Context<Self>;
}

impl Supervised for CommandDispatcher {}

/// Decodes a command, telling "not JSON / unknown type" from "a version we do not speak".
pub fn decode(payload: &[u8], schema_version: Option<i64>) -> Result<Command, Disposition> {
    if let Some(v) = schema_version
        && v != i64::from(COMMAND_SCHEMA_VERSION)
    {
        return Err(Disposition::DeadLetter {
            reason: "unknown_version".into(),
            error: format!("schema version {v} is not supported"),
        });
    }
    serde_json::from_slice::<Command>(payload).map_err(|e| {
        let reason = match serde_json::from_slice::<serde_json::Value>(payload) {
            Ok(value) if value.get("type").is_some() && e.is_data() => "unknown_type_or_invalid",
            _ => "undecodable",
        };
        Disposition::DeadLetter {
            reason: reason.into(),
            error: e.to_string(),
        }
    })
}

impl Handler<HandleDelivery> for CommandDispatcher {
    type Result = ResponseFuture<Disposition>;

    fn handle(&mut self, msg: HandleDelivery, _: &mut Context<Self>) -> Self::Result {
        let incoming = msg.0;
        let executor = self.executor.clone();
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
                let (id, kind) = (command.id(), command.kind());
                match executor.ask(ExecuteCommand { command }).await {
                    Ok(Ok(result)) => {
                        match &result {
                            CommandResult::Succeeded { .. } => {
                                crate::metrics::commands_total(kind, "succeeded");
                                crate::metrics::user_operation(kind, true);
                            }
                            CommandResult::Rejected(_) => {
                                crate::metrics::commands_total(kind, "failed");
                                crate::metrics::user_operation(kind, false);
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
                        tracing::warn!(error = %error.report(), "command failed transiently; will retry");
                        Disposition::Retry {
                            error: error.report().to_string(),
                        }
                    }
                    Err(error) => {
                        crate::metrics::application_error("transient", "worker");
                        Disposition::Retry {
                            error: format!("executor unavailable: {error}"),
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
