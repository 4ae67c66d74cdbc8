//! What an operator sees of a dead letter: the one-line summary (`list`) and the full
//! description (`show`), both read from the headers our consumers (`x-dlq-*`) or the broker
//! (`x-first-death-*`) wrote; secrets in the payload are redacted.

use crate::domain::DomainEvent;
use crate::infrastructure::messaging::command_dispatcher;
use crate::infrastructure::messaging::headers as message_headers;
use ::actors::rabbit::headers::{self, broker, get_i64, get_str};
use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use lapin::types::AMQPValue;
use std::fmt::Write as _;

/// A dead letter as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub reason: Option<String>,
    pub error: Option<String>,
    pub attempts: Option<i64>,
    pub first_failure: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    /// Where it came from, and where a replay sends it.
    pub original_queue: Option<String>,
    pub payload: Vec<u8>,
}

impl DeadLetter {
    pub(super) fn from_delivery(d: &Delivery) -> Self {
        let p = &d.properties;
        let millis = |key| get_i64(p, key).and_then(DateTime::<Utc>::from_timestamp_millis);
        Self {
            message_id: p.message_id().as_ref().map(|s| s.to_string()),
            message_type: p.kind().as_ref().map(|s| s.to_string()),
            // Dead-lettered by our consumers (x-dlq-*), or by the broker itself (delivery limit
            // exceeded, rejected without a retry route: x-first-death-*).
            reason: get_str(p, headers::DLQ_REASON)
                .or_else(|| get_str(p, broker::FIRST_DEATH_REASON)),
            error: get_str(p, headers::DLQ_ERROR).or_else(|| get_str(p, headers::LAST_ERROR)),
            attempts: get_i64(p, headers::DLQ_ATTEMPTS),
            first_failure: millis(headers::DLQ_FIRST_FAILURE),
            last_failure: millis(headers::DLQ_LAST_FAILURE),
            original_queue: get_str(p, headers::DLQ_ORIGINAL_QUEUE)
                .or_else(|| get_str(p, broker::FIRST_DEATH_QUEUE)),
            payload: d.data.clone(),
        }
    }

    pub fn id(&self) -> &str {
        self.message_id.as_deref().unwrap_or("<no message id>")
    }

    /// One line (two with the error) per message, for `list`.
    pub fn summary(&self) -> String {
        let time =
            |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into());
        let mut line = format!(
            "{}  type={} reason={} attempts={} first_failure={} last_failure={} original_queue={}",
            self.id(),
            self.message_type.as_deref().unwrap_or("-"),
            self.reason.as_deref().unwrap_or("-"),
            self.attempts
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            time(&self.first_failure),
            time(&self.last_failure),
            self.original_queue.as_deref().unwrap_or("-"),
        );
        if let Some(error) = &self.error {
            let _ = write!(line, "\n    error: {error}");
        }
        line
    }
}

fn value_text(value: &AMQPValue) -> String {
    match value {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        AMQPValue::LongLongInt(v) => v.to_string(),
        AMQPValue::LongInt(v) => v.to_string(),
        AMQPValue::ShortInt(v) => v.to_string(),
        AMQPValue::LongUInt(v) => v.to_string(),
        AMQPValue::Timestamp(v) => v.to_string(),
        AMQPValue::Boolean(v) => v.to_string(),
        other => format!("{other:?}"),
    }
}

/// Everything about one dead letter, secrets redacted.
pub(super) fn describe(d: &Delivery) -> String {
    let letter = DeadLetter::from_delivery(d);
    let p = &d.properties;
    let mut out = format!("message {}\n", letter.id());
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "  type:           {}",
        opt(p.kind().as_ref().map(|s| s.to_string()))
    );
    let _ = writeln!(
        out,
        "  content-type:   {}",
        opt(p.content_type().as_ref().map(|s| s.to_string()))
    );
    let _ = writeln!(
        out,
        "  delivery-mode:  {}",
        opt(p.delivery_mode().map(|m| m.to_string()))
    );
    let _ = writeln!(
        out,
        "  reply-to:       {}",
        opt(p.reply_to().as_ref().map(|s| s.to_string()))
    );
    let _ = writeln!(out, "  redelivered:    {}", d.redelivered);
    let _ = writeln!(out, "  decodes as:     {}", decodes_as(d));
    let _ = writeln!(out, "  headers:");
    if let Some(headers) = p.headers() {
        let mut entries: Vec<_> = headers.inner().iter().collect();
        entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        for (k, v) in entries {
            let _ = writeln!(out, "    {}: {}", k.as_str(), value_text(v));
        }
    }
    let _ = writeln!(out, "  payload ({} bytes):", d.data.len());
    let _ = writeln!(out, "{}", payload_text(&d.data));
    out
}

/// What this build makes of the payload: a declared command (the workers' own decoding, schema
/// version included) or event type, or why it would be dead-lettered again.
fn decodes_as(d: &Delivery) -> String {
    let schema = get_i64(&d.properties, message_headers::SCHEMA_VERSION);
    match command_dispatcher::decode(&d.data, schema) {
        Ok(command) => format!("command {} v{}", command.kind(), command.schema_version()),
        Err(refused) => match serde_json::from_slice::<DomainEvent>(&d.data) {
            Ok(event) => format!("event {} v{}", event.event_type(), event.schema_version()),
            Err(_) => format!("neither a command nor an event of this version ({refused:?})"),
        },
    }
}

/// Pretty JSON with secret-looking fields redacted, or the text, or a note for binary data.
pub fn payload_text(payload: &[u8]) -> String {
    fn redact(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k.contains("password") || k.contains("secret") || k.contains("token") {
                        *v = serde_json::Value::String("<redacted>".into());
                    } else {
                        redact(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(mut v) => {
            redact(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
        Err(_) => match std::str::from_utf8(payload) {
            Ok(text) => text.to_owned(),
            Err(_) => format!("<{} bytes of binary data>", payload.len()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_shown_with_secrets_redacted() {
        let shown = payload_text(
            br#"{"type":"RegisterUser","password_hash":"$2b$12$abc","details":{"email":"a@b.c"}}"#,
        );
        assert!(
            shown.contains("<redacted>") && !shown.contains("$2b$12$abc"),
            "{shown}"
        );
        assert!(shown.contains("a@b.c"));
        assert_eq!(payload_text(b"plain text"), "plain text");
        assert_eq!(payload_text(&[0xff, 0xfe]), "<2 bytes of binary data>");
    }
}
