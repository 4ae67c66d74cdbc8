//! `replay`: re-driving dead letters to their original queue. A message leaves the DLQ only once
//! the broker confirmed its re-publish; its dead-letter and retry headers are reset so that it
//! gets a full set of retries again, and the replays are counted.

use super::connection::{Broker, close, connect, give_back, take};
use super::letter::DeadLetter;
use ::actors::rabbit::headers::{self, broker, get_i64};
use lapin::options::{BasicAckOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Confirmation};

/// What a replay did, message by message.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub replayed: Vec<String>,
    /// (message id, why it stayed in the DLQ)
    pub kept: Vec<(String, String)>,
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

const RESET_HEADERS: &[&str] = &[
    headers::ATTEMPTS,
    headers::FIRST_FAILURE,
    headers::LAST_FAILURE,
    headers::LAST_ERROR,
    broker::DEATH,
    broker::FIRST_DEATH_EXCHANGE,
    broker::FIRST_DEATH_QUEUE,
    broker::FIRST_DEATH_REASON,
    broker::LAST_DEATH_EXCHANGE,
    broker::LAST_DEATH_QUEUE,
    broker::LAST_DEATH_REASON,
    broker::DELIVERY_COUNT,
];

/// The message's properties for its second life: dead-letter and retry headers removed, the
/// number of replays counted.
fn replay_properties(props: &BasicProperties) -> BasicProperties {
    let mut kept = FieldTable::default();
    let replays = get_i64(props, headers::DLQ_REPLAYS).unwrap_or(0) + 1;
    if let Some(old) = props.headers() {
        for (key, value) in old.inner() {
            let k = key.as_str();
            if k.starts_with(headers::DLQ_PREFIX) || RESET_HEADERS.contains(&k) {
                continue;
            }
            kept.insert(key.clone(), value.clone());
        }
    }
    kept.insert(headers::DLQ_REPLAYS.into(), AMQPValue::LongLongInt(replays));
    props.clone().with_headers(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::actors::rabbit::headers::{get_str, int, table, text};

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
}
