//! `hexactor dlq list|show|replay|purge`: operators inspect and re-drive dead letters.
//!
//! Messages are taken with `basic.get` *without* auto-ack, so nothing leaves the dead-letter
//! queue unless this tool decides so: a replayed message is acked (removed) only after the broker
//! has confirmed its re-publish to the original queue, a purged one is acked, and every message
//! merely looked at is handed back (`basic.nack` with requeue) before the tool exits. If the tool
//! dies half-way, the broker returns whatever it held to the queue.

use crate::config::Settings;
use crate::infrastructure::messaging::names::Names;
use ::actors::rabbit::AmqpTls;
use ::actors::rabbit::headers::{get_i64, get_str};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueuePurgeOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use std::fmt::Write as _;

#[derive(Debug, Clone, Args)]
pub struct DlqArgs {
    /// The dead-letter queue [default: <AMQP_PREFIX>.commands.users.dlq]
    #[arg(long)]
    pub queue: Option<String>,
    /// Only the message with this message id
    #[arg(long)]
    pub id: Option<String>,
    /// At most this many messages (list, show, replay)
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DlqCmd {
    /// List dead letters: id, why (reason, error, attempts), when (first and last failure), from where
    List(DlqArgs),
    /// Show dead letters in full: properties, every header, the payload (secrets redacted)
    Show(DlqArgs),
    /// Re-publish dead letters to their original queue; each leaves the DLQ only once the broker confirmed it
    Replay(DlqArgs),
    /// Delete dead letters: every one in the queue, or only the one with --id
    Purge(DlqArgs),
}

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
    fn from_delivery(d: &Delivery) -> Self {
        let p = &d.properties;
        let millis = |key| get_i64(p, key).and_then(DateTime::<Utc>::from_timestamp_millis);
        Self {
            message_id: p.message_id().as_ref().map(|s| s.to_string()),
            message_type: p.kind().as_ref().map(|s| s.to_string()),
            // Dead-lettered by our consumers (x-dlq-*), or by the broker itself (delivery limit
            // exceeded, rejected without a retry route: x-first-death-*).
            reason: get_str(p, "x-dlq-reason").or_else(|| get_str(p, "x-first-death-reason")),
            error: get_str(p, "x-dlq-error").or_else(|| get_str(p, "x-last-error")),
            attempts: get_i64(p, "x-dlq-attempts"),
            first_failure: millis("x-dlq-first-failure"),
            last_failure: millis("x-dlq-last-failure"),
            original_queue: get_str(p, "x-dlq-original-queue")
                .or_else(|| get_str(p, "x-first-death-queue")),
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

/// What a replay did, message by message.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub replayed: Vec<String>,
    /// (message id, why it stayed in the DLQ)
    pub kept: Vec<(String, String)>,
}

pub fn default_queue(settings: &Settings) -> String {
    format!(
        "{}.dlq",
        Names::new(&settings.messaging.amqp_prefix).command_queue
    )
}

/// Runs one `dlq` subcommand and prints what it did.
pub async fn run(settings: &Settings, command: DlqCmd) -> anyhow::Result<()> {
    let url = Broker {
        url: settings.messaging.rabbitmq_url.expose(),
        tls: settings.messaging.rabbitmq_tls.clone(),
    };
    let url = &url;
    let queue_of = |args: &DlqArgs| {
        args.queue
            .clone()
            .unwrap_or_else(|| default_queue(settings))
    };
    match command {
        DlqCmd::List(args) => {
            let queue = queue_of(&args);
            let letters = list(url, &queue, args.id.as_deref(), args.limit).await?;
            println!(
                "{} dead letter(s) in {queue}{}",
                letters.len(),
                limited(letters.len(), args.limit)
            );
            for letter in &letters {
                println!("{}", letter.summary());
            }
        }
        DlqCmd::Show(args) => {
            let queue = queue_of(&args);
            let letters = show(url, &queue, args.id.as_deref(), args.limit).await?;
            if letters.is_empty() {
                anyhow::bail!("no matching dead letter in {queue}");
            }
            for letter in letters {
                println!("{letter}");
            }
        }
        DlqCmd::Replay(args) => {
            let queue = queue_of(&args);
            let report = replay(url, &queue, args.id.as_deref(), args.limit).await?;
            for id in &report.replayed {
                println!("replayed {id}");
            }
            for (id, why) in &report.kept {
                println!("kept {id}: {why}");
            }
            println!(
                "{} replayed, {} kept in {queue}",
                report.replayed.len(),
                report.kept.len()
            );
            if !report.kept.is_empty() {
                anyhow::bail!("{} dead letter(s) could not be replayed", report.kept.len());
            }
        }
        DlqCmd::Purge(args) => {
            let queue = queue_of(&args);
            let purged = purge(url, &queue, args.id.as_deref()).await?;
            println!("purged {purged} dead letter(s) from {queue}");
        }
    }
    Ok(())
}

fn limited(n: usize, limit: usize) -> &'static str {
    if n >= limit {
        " (limit reached; --limit shows more)"
    } else {
        ""
    }
}

/// Where the dead letters are: the broker's URL and, for `amqps://`, whom to trust.
#[derive(Clone, Debug)]
pub struct Broker<'a> {
    pub url: &'a str,
    pub tls: AmqpTls,
}

impl<'a> From<&'a str> for Broker<'a> {
    fn from(url: &'a str) -> Self {
        Self {
            url,
            tls: AmqpTls::default(),
        }
    }
}

impl<'a> From<&'a String> for Broker<'a> {
    fn from(url: &'a String) -> Self {
        url.as_str().into()
    }
}

impl<'a> From<&Broker<'a>> for Broker<'a> {
    fn from(broker: &Broker<'a>) -> Self {
        broker.clone()
    }
}

/// Connects to the first reachable node of the broker's URLs (one URL or a cluster's
/// comma-separated list), over TLS for `amqps://`.
async fn connect(broker: Broker<'_>) -> anyhow::Result<(Connection, Channel)> {
    let mut endpoints = ::actors::rabbit::Endpoints::parse_in_order(broker.url)?;
    let mut last_error = None;
    for _ in 0..endpoints.all().len() {
        let endpoint = endpoints.advance().clone();
        let props = ConnectionProperties::default().with_connection_name("hexactor-dlq-cli".into());
        match ::actors::rabbit::open(&endpoint.url, props, &broker.tls).await {
            Ok(conn) => {
                let channel = conn.create_channel().await?;
                return Ok((conn, channel));
            }
            Err(e) => last_error = Some(anyhow::Error::new(e).context(endpoint.node)),
        }
    }
    Err(last_error.expect("at least one endpoint"))
}

/// Takes (unacked) up to `limit` matching messages; the others it had to look at are handed
/// back at once. With an id it looks through the whole queue.
async fn take(
    channel: &Channel,
    queue: &str,
    id: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<Delivery>> {
    let mut taken = Vec::new();
    let mut passed_over = Vec::new();
    while taken.len() < limit {
        let Some(msg) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        let delivery = msg.delivery;
        let matches = id.is_none_or(|id| {
            delivery
                .properties
                .message_id()
                .as_ref()
                .is_some_and(|m| m.as_str() == id)
        });
        if matches {
            taken.push(delivery);
        } else {
            passed_over.push(delivery);
        }
    }
    give_back(passed_over).await;
    Ok(taken)
}

async fn give_back(deliveries: Vec<Delivery>) {
    for d in deliveries {
        let _ = d
            .acker
            .nack(BasicNackOptions {
                requeue: true,
                multiple: false,
            })
            .await;
    }
}

async fn close(conn: Connection) {
    let _ = conn.close(200, "done".into()).await;
}

/// The dead letters (up to `limit`), left in the queue.
pub async fn list<'a>(
    url: impl Into<Broker<'a>>,
    queue: &str,
    id: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<DeadLetter>> {
    let (conn, channel) = connect(url.into()).await?;
    let taken = take(&channel, queue, id, limit).await?;
    let letters = taken.iter().map(DeadLetter::from_delivery).collect();
    give_back(taken).await;
    close(conn).await;
    Ok(letters)
}

/// Full descriptions of the dead letters (up to `limit`), left in the queue.
pub async fn show<'a>(
    url: impl Into<Broker<'a>>,
    queue: &str,
    id: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let (conn, channel) = connect(url.into()).await?;
    let taken = take(&channel, queue, id, limit).await?;
    let shown = taken.iter().map(describe).collect();
    give_back(taken).await;
    close(conn).await;
    Ok(shown)
}

/// Re-publishes each dead letter (up to `limit`) to its original queue through the default
/// exchange, with confirms; acks it in the DLQ only after the confirm. Attempt counters and
/// dead-letter headers are reset, so it gets a full set of retries again.
pub async fn replay<'a>(
    url: impl Into<Broker<'a>>,
    queue: &str,
    id: Option<&str>,
    limit: usize,
) -> anyhow::Result<ReplayReport> {
    let (conn, channel) = connect(url.into()).await?;
    // Publishes on their own confirm channel; the gets stay on `channel`.
    let publisher = conn.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let taken = take(&channel, queue, id, limit).await?;
    let mut report = ReplayReport::default();
    for delivery in taken {
        let letter = DeadLetter::from_delivery(&delivery);
        let Some(target) = letter.original_queue.clone() else {
            report
                .kept
                .push((letter.id().to_owned(), "no original queue header".into()));
            give_back(vec![delivery]).await;
            continue;
        };
        let published = async {
            publisher
                .basic_publish(
                    "".into(),
                    target.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &delivery.data,
                    replay_properties(&delivery.properties),
                )
                .await?
                .await
        };
        match published.await {
            Ok(Confirmation::Ack(None)) => {
                delivery.acker.ack(BasicAckOptions::default()).await?;
                report.replayed.push(letter.id().to_owned());
            }
            outcome => {
                let why = match outcome {
                    Ok(Confirmation::Ack(Some(_))) => {
                        format!("queue {target} does not exist (unroutable)")
                    }
                    Ok(Confirmation::Nack(_)) => "the broker refused the re-publish".into(),
                    Ok(Confirmation::NotRequested) => "no publisher confirm".into(),
                    Err(e) => e.to_string(),
                    Ok(Confirmation::Ack(None)) => unreachable!(),
                };
                report.kept.push((letter.id().to_owned(), why));
                give_back(vec![delivery]).await;
            }
        }
    }
    close(conn).await;
    Ok(report)
}

/// Removes dead letters: the one(s) with `id` (looking through the whole queue), or every
/// message in the queue (`queue.purge`). Returns how many were removed.
pub async fn purge<'a>(
    url: impl Into<Broker<'a>>,
    queue: &str,
    id: Option<&str>,
) -> anyhow::Result<usize> {
    let (conn, channel) = connect(url.into()).await?;
    let purged = match id {
        None => {
            channel
                .queue_purge(queue.into(), QueuePurgeOptions::default())
                .await? as usize
        }
        Some(id) => {
            let taken = take(&channel, queue, Some(id), usize::MAX).await?;
            for delivery in &taken {
                delivery.acker.ack(BasicAckOptions::default()).await?;
            }
            taken.len()
        }
    };
    close(conn).await;
    Ok(purged)
}

const RESET_HEADERS: &[&str] = &[
    "x-attempts",
    "x-first-failure",
    "x-last-failure",
    "x-last-error",
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
];

/// The message's properties for its second life: dead-letter and retry headers removed, the
/// number of replays counted.
fn replay_properties(props: &BasicProperties) -> BasicProperties {
    let mut headers = FieldTable::default();
    let replays = get_i64(props, "x-dlq-replays").unwrap_or(0) + 1;
    if let Some(old) = props.headers() {
        for (key, value) in old.inner() {
            let k = key.as_str();
            if k.starts_with("x-dlq-") || RESET_HEADERS.contains(&k) {
                continue;
            }
            headers.insert(key.clone(), value.clone());
        }
    }
    headers.insert("x-dlq-replays".into(), AMQPValue::LongLongInt(replays));
    props.clone().with_headers(headers)
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
fn describe(d: &Delivery) -> String {
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
    use ::actors::rabbit::headers::{int, table, text};

    #[test]
    fn replay_resets_the_dead_letter_and_retry_headers_and_counts_replays() {
        let props = BasicProperties::default()
            .with_message_id("m1".into())
            .with_headers(table(&[
                ("x-dlq-reason", text("retries_exhausted")),
                ("x-dlq-original-queue", text("q")),
                ("x-attempts", int(5)),
                ("x-request-id", text("req-1")),
                ("x-schema-version", int(1)),
            ]));
        let replayed = replay_properties(&props);
        assert_eq!(get_str(&replayed, "x-dlq-reason"), None);
        assert_eq!(get_i64(&replayed, "x-attempts"), None);
        assert_eq!(get_str(&replayed, "x-request-id").as_deref(), Some("req-1"));
        assert_eq!(get_i64(&replayed, "x-schema-version"), Some(1));
        assert_eq!(get_i64(&replayed, "x-dlq-replays"), Some(1));
        assert_eq!(
            get_i64(&replay_properties(&replayed), "x-dlq-replays"),
            Some(2)
        );
        assert_eq!(
            replayed.message_id().as_ref().map(|s| s.as_str()),
            Some("m1")
        );
    }

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
