//! The one place that talks to the `backoff` crate (unmaintained upstream; the product owner's
//! pick): capped exponential backoff with jitter, for actor restarts and AMQP reconnects.

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff as _;
use std::time::Duration;

/// Capped exponential delays with ±50 % jitter; never gives up (callers decide when to stop).
#[derive(Debug)]
pub struct Backoff {
    inner: ExponentialBackoff,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        let inner = ExponentialBackoff {
            current_interval: initial,
            initial_interval: initial,
            randomization_factor: 0.5,
            multiplier: 2.0,
            max_interval: max,
            max_elapsed_time: None,
            ..ExponentialBackoff::default()
        };
        Self { inner }
    }

    pub fn next_delay(&mut self) -> Duration {
        self.inner.next_backoff().unwrap_or(self.inner.max_interval)
    }

    pub fn reset(&mut self) {
        self.inner.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn delays_grow_and_stay_capped() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(150));
        let later: Vec<_> = (0..20).map(|_| b.next_delay()).collect();
        assert!(
            later.iter().all(|d| *d <= Duration::from_millis(1500)),
            "{later:?}"
        );
        assert!(
            later.iter().any(|d| *d >= Duration::from_millis(500)),
            "{later:?}"
        );
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(150));
    }
}
