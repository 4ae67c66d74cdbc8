//! Everything logged during a test binary's run, at debug level (one global subscriber), for
//! assertions on what was reported and on what must never be logged (plaintext passwords,
//! tokens). The service's tests use it through `tests/support`; the runtime's tests include
//! this file with `#[path]`, like `eventually.rs`.

use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
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
