//! Outcome ports: how use cases report what happened, without knowing who counts it. The
//! adapter behind them (`infrastructure::outcome_metrics`) turns reports into Prometheus
//! counters; unit tests can stand a recorder in. A trait rather than a message: a report is a
//! counter increment, too small to be worth a mailbox hop.

/// How a login attempt ended, as far as an operator may know (never why credentials failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginResult {
    Success,
    /// Unknown email, wrong password or inactive account: one value, deliberately.
    Invalid,
    Locked,
}

impl LoginResult {
    pub const ALL: [LoginResult; 3] = [Self::Success, Self::Invalid, Self::Locked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Invalid => "invalid",
            Self::Locked => "locked",
        }
    }
}

/// Reports of the auth context's use cases.
pub trait AuthOutcomes: Send + Sync {
    fn login(&self, result: LoginResult);
}
