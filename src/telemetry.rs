//! Logging: `tracing` with an env filter, pretty or JSON lines. Every HTTP request and every
//! consumed command runs in a span carrying its request id.

use crate::config::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once per process; later calls are ignored).
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.runtime.log_level)
        .or_else(|_| EnvFilter::try_new("info"))
        .expect("'info' is a valid filter");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match settings.runtime.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
