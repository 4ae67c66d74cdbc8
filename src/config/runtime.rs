//! How the process runs: supervision limits, stall detection, monitoring, shutdown, logs.

use super::{ConfigError, Env, err};
use crate::variables as var;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct RuntimeSettings {
    /// More restarts than this within `supervisor_window` escalate to the parent supervisor.
    pub supervisor_max_restarts: u32,
    pub supervisor_window: Duration,
    pub shutdown_timeout: Duration,
    /// How often queue depths, the pool and active users are sampled.
    pub monitor_interval: Duration,
    /// A message in its handler longer than this is a stall (see `actors::supervisor`).
    pub actor_stall_limit: Duration,
    pub log_level: String,
    pub log_format: LogFormat,
}

impl RuntimeSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            supervisor_max_restarts: env.num(var::SUPERVISOR_MAX_RESTARTS, 0, 1000)?,
            supervisor_window: env.seconds(var::SUPERVISOR_WINDOW_SECONDS, 1, 3600)?,
            shutdown_timeout: env.seconds(var::SHUTDOWN_TIMEOUT_SECONDS, 1, 600)?,
            monitor_interval: env.millis(var::MONITOR_INTERVAL_MS, 100, 600_000)?,
            actor_stall_limit: env.millis(var::ACTOR_STALL_MS, 10, 3_600_000)?,
            log_level: log_level(env.get(var::LOG_LEVEL))?,
            log_format: env.choice(
                var::LOG_FORMAT,
                &[
                    ("pretty", LogFormat::Pretty),
                    ("text", LogFormat::Pretty),
                    ("json", LogFormat::Json),
                ],
                "pretty or json",
            )?,
        })
    }
}

/// `LOG_LEVEL`: a level, or `target=level` directives. tracing would read a misspelt level
/// ("verbose") as a target name and log nothing of ours, so every directive's level is checked.
fn log_level(raw: String) -> Result<String, ConfigError> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let variable = var::LOG_LEVEL.name;
    for directive in raw.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(err(
                variable,
                format!(
                    "{directive:?} is not a level (off, error, warn, info, debug, trace) or target=level"
                ),
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(&raw).map_err(|e| err(variable, e.to_string()))?;
    Ok(raw)
}
