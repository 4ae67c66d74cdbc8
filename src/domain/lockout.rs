//! Brute-force protection policy: after `max_failures` consecutive failures a key (an account or
//! a client address) is locked, for a time that doubles with each lockout up to `max_lock`.
//! Temporary by design: an attacker can slow a victim's logins down, never lock them out for good.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub base_lock: Duration,
    pub max_lock: Duration,
}

impl LockoutPolicy {
    /// Does this many consecutive failures trigger a lock?
    pub fn should_lock(&self, consecutive_failures: u32) -> bool {
        consecutive_failures >= self.max_failures
    }

    /// How long the `previous_lockouts + 1`-th lock lasts.
    pub fn lock_duration(&self, previous_lockouts: u32) -> Duration {
        let factor = 2u32.saturating_pow(previous_lockouts.min(20));
        self.base_lock.saturating_mul(factor).min(self.max_lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_exponentially_and_are_capped() {
        let p = LockoutPolicy {
            max_failures: 5,
            base_lock: Duration::from_secs(30),
            max_lock: Duration::from_secs(3600),
        };
        assert!(!p.should_lock(4));
        assert!(p.should_lock(5));
        assert_eq!(p.lock_duration(0), Duration::from_secs(30));
        assert_eq!(p.lock_duration(1), Duration::from_secs(60));
        assert_eq!(p.lock_duration(3), Duration::from_secs(240));
        assert_eq!(p.lock_duration(10), Duration::from_secs(3600));
        assert_eq!(p.lock_duration(u32::MAX), Duration::from_secs(3600));
    }
}
