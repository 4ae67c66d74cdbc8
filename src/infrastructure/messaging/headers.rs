//! The AMQP headers the service itself puts on its messages (the actors runtime has its own retry
//! and dead-letter headers in `actors::rabbit::headers`). Written by the outbox relay, read by
//! the command dispatcher: one name each, so the two sides cannot drift apart.

/// The shape version of the payload; workers dead-letter versions they do not know.
pub const SCHEMA_VERSION: &str = "x-schema-version";
/// The HTTP request that caused the message (its `X-Request-Id`), for log correlation.
pub const REQUEST_ID: &str = "x-request-id";
/// The W3C trace context of that request, so the worker's log lines join the same trace.
pub const TRACEPARENT: &str = "traceparent";
