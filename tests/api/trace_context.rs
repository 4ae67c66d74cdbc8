//! W3C trace context across the broker: the trace id of an HTTP request's `traceparent` is in
//! the worker's log lines for the command the request caused.

use crate::helpers::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn worker_lines_with(needle: &str) -> Vec<String> {
    captured_logs()
        .lines()
        .filter(|l| l.contains("command applied") && l.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[actix_web::test]
async fn a_requests_traceparent_reaches_the_workers_log_lines() {
    let app = spawn_app().await;
    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let res = app
        .register(&user_body("1"), &[("traceparent", traceparent.as_str())])
        .await;
    assert_eq!(res.status, 201);
    // Our own span under the caller's: same trace, another parent id.
    let answered = res.header("traceparent").expect("traceparent answered");
    assert!(
        answered.starts_with(&format!("00-{TRACE_ID}-")),
        "{answered}"
    );
    assert_ne!(answered, traceparent);
    let lines = worker_lines_with(TRACE_ID);
    assert_eq!(
        lines.len(),
        1,
        "one worker line with the trace id:\n{}",
        captured_logs()
    );
    assert!(lines[0].contains("Succeeded"), "{}", lines[0]);
}

#[actix_web::test]
async fn without_a_traceparent_a_trace_starts_and_still_reaches_the_worker() {
    let app = spawn_app().await;
    let res = app.register(&user_body("2"), &[]).await;
    assert_eq!(res.status, 201);
    let started = res.header("traceparent").expect("a trace was started");
    let trace_id = started.split('-').nth(1).unwrap().to_owned();
    assert_eq!(trace_id.len(), 32);
    assert_eq!(worker_lines_with(&trace_id).len(), 1, "{}", captured_logs());
    // A malformed traceparent is replaced, never echoed.
    let bad = app
        .register(&user_body("3"), &[("traceparent", "00-not-a-trace-01")])
        .await;
    assert_eq!(bad.status, 201);
    assert!(!bad.header("traceparent").unwrap().contains("not-a-trace"));
}
