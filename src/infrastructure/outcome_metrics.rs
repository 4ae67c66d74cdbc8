//! The metrics adapter behind the application's outcome ports.

use crate::application::outcomes::{AuthOutcomes, LoginResult};

/// Counts use-case outcomes in Prometheus (`auth_attempts_total{status}`).
#[derive(Clone, Copy, Debug, Default)]
pub struct OutcomeMetrics;

impl AuthOutcomes for OutcomeMetrics {
    fn login(&self, result: LoginResult) {
        crate::metrics::auth_attempt(result.as_str());
    }
}
