//! Helpers shared by the runtime's integration tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

// The workspace's one `eventually` (the service's tests use it too); it needs nothing of the
// service, so the runtime's tests include the file instead of depending on the service crate.
#[path = "../../../tests/support/eventually.rs"]
mod eventually;
pub use eventually::eventually;

/// How long the runtime's tests wait for a condition before failing.
pub const WITHIN: Duration = Duration::from_secs(5);

/// Every log line of the process (any thread), for assertions on what the runtime reports.
static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    let _ = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Capture(writer.clone()))
        .try_init();
    buffer
});

struct Capture(Arc<Mutex<Vec<u8>>>);
impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (call before the code under test logs).
pub fn capture_logs() {
    LazyLock::force(&LOGS);
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

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
