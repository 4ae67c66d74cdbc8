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
    /// Right password, but `REQUIRE_VERIFIED_EMAIL` and the address is not verified yet.
    EmailNotVerified,
    /// Right password; a second factor is asked for (`mfa_token` issued).
    MfaRequired,
    /// The second step failed: a spent or unknown `mfa_token`, or a wrong code.
    MfaInvalid,
}

impl LoginResult {
    pub const ALL: [LoginResult; 6] = [
        Self::Success,
        Self::Invalid,
        Self::Locked,
        Self::EmailNotVerified,
        Self::MfaRequired,
        Self::MfaInvalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Invalid => "invalid",
            Self::Locked => "locked",
            Self::EmailNotVerified => "email_not_verified",
            Self::MfaRequired => "mfa_required",
            Self::MfaInvalid => "mfa_invalid",
        }
    }
}

/// Reports of the auth context's use cases.
pub trait AuthOutcomes: Send + Sync {
    fn login(&self, result: LoginResult);
}
