//! The service's log output, captured for the whole test binary (one global subscriber).

use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

/// Everything the service logs during the test, at debug level, for the "no plaintext
/// password in the logs" check.
pub static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    let make_writer = move || CaptureWriter(writer.clone());
    let _ = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(make_writer)
        .try_init();
    buffer
});

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);
impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}
