//! Helpers shared by the runtime's integration tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

// The workspace's one `eventually` (the service's tests use it too); it needs nothing of the
// service, so the runtime's tests include the file instead of depending on the service crate.
#[path = "../../../tests/support/eventually.rs"]
mod eventually;
pub use eventually::eventually;

/// How long the runtime's tests wait for a condition before failing.
pub const WITHIN: Duration = Duration::from_secs(5);

// The workspace's one log capture, included like `eventually`.
#[path = "../../../tests/support/logs.rs"]
mod logs;
#[allow(unused_imports)] // not every test binary looks at the logs
pub use logs::{capture_logs, captured_logs};

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
