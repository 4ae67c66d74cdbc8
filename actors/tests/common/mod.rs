//! Helpers shared by the runtime's integration tests.

use std::time::{Duration, Instant};

/// The sum of a metric's samples (counter or gauge) whose labels include `labels`.
pub fn counter_value(name: &str, labels: &[(&str, &str)]) -> f64 {
    prometheus::gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().to_vec())
        .filter(|m| {
            labels.iter().all(|(k, v)| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == *k && l.value() == *v)
            })
        })
        .map(|m| m.get_counter().get_value() + m.get_gauge().get_value())
        .sum()
}

/// Polls `f` until it returns true or the deadline passes.
pub async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        actix::clock::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}
