//! What becomes of a delivery once its handler has answered: ack it, park it in a delayed-retry
//! tier, dead-letter it, or hand it back. A pure function of the handler's [`Disposition`], the
//! attempt count (from the headers), the queue's retry route and the breaker state, so that every
//! branch is unit-tested without a broker; `settle.rs` carries the decision out.

use super::{Disposition, RetryRoute};
use crate::rabbit::headers::{self, get_i64};
use lapin::BasicProperties;

/// The `x-dlq-reason` of a message whose transient failures outlasted its retry tiers.
pub(super) const RETRIES_EXHAUSTED: &str = "retries_exhausted";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settlement<'a> {
    /// Done (success, or a recorded business failure): ack it.
    Ack,
    /// A transient failure with attempts left: re-publish to this delayed-retry queue (attempt
    /// counted), then ack.
    Retry {
        retry_queue: &'a str,
        error: &'a str,
    },
    /// Publish to the route's dead-letter queue with headers saying why, then ack.
    DeadLetter {
        dead_letter_queue: &'a str,
        original_queue: &'a str,
        reason: &'a str,
        error: &'a str,
    },
    /// No retry route: reject without requeue and let the broker dead-letter it (the queue's
    /// `x-dead-letter-exchange`).
    RejectToBroker,
    /// The breaker is open: the failure is the dependency's, not the message's. Hand it back
    /// without using up an attempt; it is handled once the consumer resumes.
    GiveBack,
}

impl Settlement<'_> {
    /// The `outcome` label of `amqp_deliveries_total` for this settlement.
    pub(super) fn outcome(&self) -> &'static str {
        match self {
            Settlement::Ack => "ack",
            Settlement::Retry { .. } => "retry",
            Settlement::DeadLetter { .. } | Settlement::RejectToBroker => "dead_letter",
            Settlement::GiveBack => "requeue",
        }
    }
}

/// The delivery's attempt: 1 for the first delivery, then counted across delayed retries
/// (`x-attempts`); a missing or nonsensical header counts as the first.
pub(super) fn attempt_of(properties: &BasicProperties) -> u32 {
    get_i64(properties, headers::ATTEMPTS).unwrap_or(1).max(1) as u32
}

/// Decides the settlement. `breaker_open` matters only for a transient failure (`Retry`).
pub(super) fn decide<'a>(
    disposition: &'a Disposition,
    attempt: u32,
    route: Option<&'a RetryRoute>,
    breaker_open: bool,
) -> Settlement<'a> {
    let dead_letter =
        |route: &'a RetryRoute, reason: &'a str, error: &'a str| Settlement::DeadLetter {
            dead_letter_queue: &route.work.dead_letter_queue,
            original_queue: &route.work.name,
            reason,
            error,
        };
    match (disposition, route) {
        (Disposition::Ack, _) => Settlement::Ack,
        (Disposition::Retry { .. }, _) if breaker_open => Settlement::GiveBack,
        (Disposition::Retry { error }, Some(route)) if attempt < route.max_attempts => {
            // Attempt n waits in tier n (the last tier repeats when there are more attempts
            // than tiers).
            let tiers = &route.work.retry_queues;
            let tier = (attempt.saturating_sub(1) as usize).min(tiers.len().saturating_sub(1));
            match tiers.get(tier) {
                Some((retry_queue, _)) => Settlement::Retry { retry_queue, error },
                // No tiers at all: nowhere to wait, so the retries are exhausted at once.
                None => dead_letter(route, RETRIES_EXHAUSTED, error),
            }
        }
        (Disposition::Retry { error }, Some(route)) => dead_letter(route, RETRIES_EXHAUSTED, error),
        (Disposition::DeadLetter { reason, error }, Some(route)) => {
            dead_letter(route, reason, error)
        }
        (Disposition::Retry { .. } | Disposition::DeadLetter { .. }, None) => {
            Settlement::RejectToBroker
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rabbit::WorkQueue;
    use crate::rabbit::headers::{int, table, text};
    use std::time::Duration;

    fn route(max_attempts: u32, tiers: &[Duration]) -> RetryRoute {
        RetryRoute {
            work: WorkQueue::new("q", tiers),
            max_attempts,
        }
    }

    fn three_tiers() -> RetryRoute {
        route(
            5,
            &[
                Duration::from_secs(1),
                Duration::from_secs(10),
                Duration::from_secs(60),
            ],
        )
    }

    fn retry() -> Disposition {
        Disposition::Retry {
            error: "db down".into(),
        }
    }

    #[test]
    fn success_is_acked_whatever_the_route_attempt_or_breaker() {
        let route = three_tiers();
        for (route, attempt, open) in [(Some(&route), 1, false), (None, 9, true)] {
            let settlement = decide(&Disposition::Ack, attempt, route, open);
            assert_eq!(settlement, Settlement::Ack);
            assert_eq!(settlement.outcome(), "ack");
        }
    }

    #[test]
    fn a_transient_failure_under_the_limit_waits_in_the_tier_of_its_attempt() {
        let route = three_tiers();
        let retry = retry();
        let queue_for = |attempt| match decide(&retry, attempt, Some(&route), false) {
            Settlement::Retry { retry_queue, error } => {
                assert_eq!(error, "db down");
                retry_queue.to_owned()
            }
            other => panic!("attempt {attempt}: {other:?}"),
        };
        assert_eq!(queue_for(1), "q.retry.1000ms");
        assert_eq!(queue_for(2), "q.retry.10000ms");
        assert_eq!(queue_for(3), "q.retry.60000ms");
        // More attempts than tiers: the last tier repeats.
        assert_eq!(queue_for(4), "q.retry.60000ms");
        assert_eq!(decide(&retry, 1, Some(&route), false).outcome(), "retry");
    }

    #[test]
    fn a_transient_failure_at_or_over_the_limit_is_dead_lettered_as_retries_exhausted() {
        let route = three_tiers();
        let retry = retry();
        for attempt in [5, 6] {
            let settlement = decide(&retry, attempt, Some(&route), false);
            assert_eq!(
                settlement,
                Settlement::DeadLetter {
                    dead_letter_queue: "q.dlq",
                    original_queue: "q",
                    reason: RETRIES_EXHAUSTED,
                    error: "db down",
                }
            );
            assert_eq!(settlement.outcome(), "dead_letter");
        }
    }

    #[test]
    fn a_transient_failure_without_retry_tiers_is_dead_lettered_at_once() {
        let route = route(5, &[]);
        assert!(matches!(
            decide(&retry(), 1, Some(&route), false),
            Settlement::DeadLetter {
                reason: RETRIES_EXHAUSTED,
                ..
            }
        ));
    }

    #[test]
    fn a_permanent_failure_goes_to_the_dead_letter_queue_with_its_own_reason() {
        let route = three_tiers();
        // Undecodable / poison messages: the handler says so, whatever the attempt.
        let poison = Disposition::DeadLetter {
            reason: "undecodable".into(),
            error: "expected value at line 1".into(),
        };
        for attempt in [1, 5] {
            assert_eq!(
                decide(&poison, attempt, Some(&route), false),
                Settlement::DeadLetter {
                    dead_letter_queue: "q.dlq",
                    original_queue: "q",
                    reason: "undecodable",
                    error: "expected value at line 1",
                }
            );
        }
        // The breaker does not hold back a message that can never succeed.
        assert!(matches!(
            decide(&poison, 1, Some(&route), true),
            Settlement::DeadLetter { .. }
        ));
    }

    #[test]
    fn without_a_retry_route_failures_are_rejected_for_the_broker_to_dead_letter() {
        let poison = Disposition::DeadLetter {
            reason: "undecodable".into(),
            error: "e".into(),
        };
        for disposition in [retry(), poison] {
            let settlement = decide(&disposition, 1, None, false);
            assert_eq!(settlement, Settlement::RejectToBroker);
            assert_eq!(settlement.outcome(), "dead_letter");
        }
    }

    #[test]
    fn with_the_breaker_open_a_transient_failure_is_handed_back_without_using_an_attempt() {
        let route = three_tiers();
        let retry = retry();
        for (route, attempt) in [(Some(&route), 1), (Some(&route), 5), (None, 1)] {
            let settlement = decide(&retry, attempt, route, true);
            assert_eq!(settlement, Settlement::GiveBack);
            assert_eq!(settlement.outcome(), "requeue");
        }
    }

    #[test]
    fn the_attempt_comes_from_the_header_and_is_at_least_one() {
        let with =
            |value| BasicProperties::default().with_headers(table(&[(headers::ATTEMPTS, value)]));
        assert_eq!(attempt_of(&BasicProperties::default()), 1);
        assert_eq!(attempt_of(&with(int(3))), 3);
        assert_eq!(attempt_of(&with(int(0))), 1);
        assert_eq!(attempt_of(&with(int(-2))), 1);
        assert_eq!(attempt_of(&with(text("3"))), 1);
    }
}
