//! Reading and writing the AMQP headers we use (attempt counts, failure reasons, request ids).
//!
//! The header names below are a protocol between the consumer (which writes them on every
//! delayed retry and dead letter) and the `hexactor dlq` tool (which reads them, and resets them
//! on replay): they are defined here once so that the two cannot drift apart.

/// The delivery's attempt, counted across delayed retries (absent on the first delivery).
pub const ATTEMPTS: &str = "x-attempts";
/// When the first attempt failed (epoch milliseconds), carried across retries.
pub const FIRST_FAILURE: &str = "x-first-failure";
/// When the latest attempt failed (epoch milliseconds).
pub const LAST_FAILURE: &str = "x-last-failure";
/// Why the latest attempt failed.
pub const LAST_ERROR: &str = "x-last-error";

/// Every header our consumers write on a dead letter starts with this.
pub const DLQ_PREFIX: &str = "x-dlq-";
/// Why it was dead-lettered (`retries_exhausted`, or the handler's reason).
pub const DLQ_REASON: &str = "x-dlq-reason";
/// The last error.
pub const DLQ_ERROR: &str = "x-dlq-error";
/// How many attempts it had.
pub const DLQ_ATTEMPTS: &str = "x-dlq-attempts";
/// When its first attempt failed (epoch milliseconds).
pub const DLQ_FIRST_FAILURE: &str = "x-dlq-first-failure";
/// When it was dead-lettered (epoch milliseconds).
pub const DLQ_LAST_FAILURE: &str = "x-dlq-last-failure";
/// The work queue it came from, and where a replay sends it.
pub const DLQ_ORIGINAL_QUEUE: &str = "x-dlq-original-queue";
/// How many times an operator replayed it (kept across replays).
pub const DLQ_REPLAYS: &str = "x-dlq-replays";

/// Written by RabbitMQ itself when *it* dead-letters a message (delivery limit exceeded,
/// rejected without a retry route).
pub mod broker {
    pub const DEATH: &str = "x-death";
    pub const FIRST_DEATH_EXCHANGE: &str = "x-first-death-exchange";
    pub const FIRST_DEATH_QUEUE: &str = "x-first-death-queue";
    pub const FIRST_DEATH_REASON: &str = "x-first-death-reason";
    pub const LAST_DEATH_EXCHANGE: &str = "x-last-death-exchange";
    pub const LAST_DEATH_QUEUE: &str = "x-last-death-queue";
    pub const LAST_DEATH_REASON: &str = "x-last-death-reason";
    /// A quorum queue's count of redeliveries.
    pub const DELIVERY_COUNT: &str = "x-delivery-count";
}

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString};

pub fn get_str(props: &BasicProperties, key: &str) -> Option<String> {
    match props.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

pub fn get_i64(props: &BasicProperties, key: &str) -> Option<i64> {
    match props.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongLongInt(v) => Some(*v),
        AMQPValue::LongInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortInt(v) => Some(i64::from(*v)),
        AMQPValue::LongUInt(v) => Some(i64::from(*v)),
        AMQPValue::Timestamp(v) => i64::try_from(*v).ok(),
        _ => None,
    }
}

/// Returns the properties with these headers added or replaced.
pub fn with_headers(props: BasicProperties, entries: &[(&str, AMQPValue)]) -> BasicProperties {
    let mut table = props.headers().clone().unwrap_or_default();
    for (k, v) in entries {
        table.insert((*k).into(), v.clone());
    }
    props.with_headers(table)
}

pub fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

pub fn int(value: i64) -> AMQPValue {
    AMQPValue::LongLongInt(value)
}

pub fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in entries {
        t.insert((*k).into(), v.clone());
    }
    t
}
