//! Configuration of the pages for people (`pages/`): whether they are served, what they are
//! called, an optional stylesheet, and how long a browser session lives.

use super::{ConfigError, Env, err};
use crate::variables as var;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct UiSettings {
    pub enabled: bool,
    pub product_name: String,
    /// The operator's stylesheet, read once at start-up and served after the built-in one.
    pub stylesheet: Option<String>,
    /// A browser session ends after this long without a request...
    pub session_idle: Duration,
    /// ...and this long after sign-in in any case.
    pub session_max: Duration,
}

impl UiSettings {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let enabled = env.choice(
            var::UI_ENABLED,
            &[("true", true), ("1", true), ("false", false), ("0", false)],
            "true or false",
        )?;
        let product_name = env.get(var::UI_PRODUCT_NAME).trim().to_owned();
        if product_name.is_empty() || product_name.chars().count() > 60 {
            return Err(err(var::UI_PRODUCT_NAME.name, "1 to 60 characters"));
        }
        let path = env.get(var::UI_STYLESHEET);
        let stylesheet =
            if path.is_empty() {
                None
            } else {
                Some(std::fs::read_to_string(&path).map_err(|e| {
                    err(var::UI_STYLESHEET.name, format!("cannot read {path}: {e}"))
                })?)
            };
        let session_idle = env.seconds(var::UI_SESSION_IDLE_SECONDS, 60, 30 * 86_400)?;
        let session_max = env.seconds(var::UI_SESSION_MAX_SECONDS, 60, 90 * 86_400)?;
        if session_idle > session_max {
            return Err(err(
                var::UI_SESSION_IDLE_SECONDS.name,
                "must not exceed UI_SESSION_MAX_SECONDS",
            ));
        }
        Ok(Self {
            enabled,
            product_name,
            stylesheet,
            session_idle,
            session_max,
        })
    }
}
