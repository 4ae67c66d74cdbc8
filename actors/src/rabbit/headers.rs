//! Reading and writing the AMQP headers we use (attempt counts, failure reasons, request ids).

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
