//! A per-client request-rate limit on the unauthenticated endpoints: each one can cost a password
//! hash (tens of milliseconds of a core with Argon2id at OWASP's defaults, ~0.3 s with bcrypt at
//! cost 12), so without it one client can keep every core busy.
//!
//! GCRA (a token bucket without a timer per key), one bucket per client address (see
//! [`ClientAddress`]) shared by every limited endpoint. With `RATE_LIMIT_SHARED` (the default)
//! the bucket lives in PostgreSQL behind the [`TakeRequest`] port, so N replicas behind a
//! balancer still give a client the configured rate, not N times it; a replica that cannot
//! reach it in time limits with its own bucket (the `governor` crate) rather than not at all.

use super::client_address::ClientAddress;
use super::problem::ApiError;
use crate::application::ports::TakeRequest;
use ::actors::Port;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The limited endpoints, one per line: `METHOD /path`, `*` for any method, a trailing `*` for
/// every path under a prefix. Adding an unauthenticated endpoint is adding its line here.
pub const LIMITED: &[&str] = &[
    "POST /api/v1/users",
    "POST /api/v1/users/",
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/login/mfa",
    "POST /api/v1/auth/refresh",
    "* /api/v1/auth/password-reset*",
    "* /api/v1/auth/verify-email*",
    "* /api/v1/auth/email-change*",
    // Authenticated, but it takes a password: guessing is bounded by the lockout and by this.
    "POST /api/v1/users/me/email",
    // The pages' forms that stand for the endpoints above (`pages::ANONYMOUS_FORMS`).
    "POST /login",
    "POST /login/code",
    "POST /register",
    "POST /forgot-password",
    "POST /reset-password",
    "POST /verify-email",
    "POST /confirm-email-change",
    "POST /revert-email-change",
    "POST /account/email",
];

pub fn is_limited(method: &str, path: &str) -> bool {
    LIMITED.iter().any(|rule| {
        let (m, p) = rule.split_once(' ').unwrap_or(("*", rule));
        let method_matches = m == "*" || m.eq_ignore_ascii_case(method);
        let path_matches = match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == p,
        };
        method_matches && path_matches
    })
}

/// Keys without traffic for a whole period are dropped once this many are held.
const SWEEP_ABOVE: usize = 10_000;
/// How long a request waits for the shared state before its replica decides alone: a limited
/// endpoint costs a database round trip anyway, so a slower answer means trouble.
const SHARED_TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    shared: Option<Port<TakeRequest>>,
    interval: Duration,
    burst: u32,
}

impl RateLimit {
    /// `per_minute` requests a minute per client, at most `burst` at once, held in `shared`
    /// if given (else in this process); `None` when `per_minute` is 0 (no limit).
    pub fn new(per_minute: u32, burst: u32, shared: Option<Port<TakeRequest>>) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Some(Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
            shared,
            interval: Duration::from_secs(60) / per_minute.get(),
            burst: burst.get(),
        })
    }

    /// `Err(wait)` when `client` is over its rate: the shared bucket's answer, or this
    /// replica's own when the shared one does not answer in time.
    async fn take(&self, client: IpAddr) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            let asked = shared.ask(TakeRequest {
                client: client.to_string(),
                interval: self.interval,
                burst: self.burst,
            });
            match tokio::time::timeout(SHARED_TIMEOUT, asked).await {
                Ok(Ok(Ok(answer))) => return answer,
                Ok(Ok(Err(error))) => {
                    tracing::warn!(error = %::actors::ErrorChain(&error), "shared rate unavailable; limiting locally")
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "shared rate unavailable; limiting locally")
                }
                Err(_) => tracing::warn!("shared rate too slow; limiting locally"),
            }
        }
        self.check(client)
    }

    /// `Err(wait)` when `client` is over this replica's own rate.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > SWEEP_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The middleware: a limited request over its client's rate gets 429 + `Retry-After`.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let limiter = req.app_data::<web::Data<RateLimit>>().cloned();
    if let Some(limiter) = limiter
        && is_limited(req.method().as_str(), req.path())
        && let Some(ClientAddress(client)) = ClientAddress::from_request(req.request())
        && let Err(wait) = limiter.take(client).await
    {
        // Counted in http_requests_total{status="429"} like any answer.
        tracing::warn!(%client, path = %req.path(), "rate limited");
        return Ok(req.error_response(ApiError::RateLimited { retry_after: wait }));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_method_and_path() {
        assert!(is_limited("POST", "/api/v1/auth/login"));
        assert!(is_limited("POST", "/api/v1/auth/login/mfa"));
        assert!(
            !is_limited("GET", "/api/v1/users"),
            "listing is authenticated"
        );
        assert!(is_limited("POST", "/api/v1/users"));
        assert!(is_limited("GET", "/api/v1/auth/verify-email/confirm"));
        assert!(!is_limited("POST", "/api/v1/auth/logout"));
    }

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let limit = RateLimit::new(60, 2, None).unwrap();
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(limit.check(a).is_ok() && limit.check(a).is_ok());
        let wait = limit.check(a).unwrap_err();
        assert!(wait > std::time::Duration::ZERO && wait <= std::time::Duration::from_secs(1));
        assert!(limit.check(b).is_ok());
        assert!(RateLimit::new(0, 5, None).is_none());
    }

    /// A shared store that is down (the unit test's stand-in for PostgreSQL).
    struct Unreachable;

    impl actix::Actor for Unreachable {
        type Context = actix::Context<Self>;
    }

    impl actix::Handler<TakeRequest> for Unreachable {
        type Result = Result<Result<(), Duration>, crate::application::ports::InfraError>;

        fn handle(&mut self, _: TakeRequest, _: &mut Self::Context) -> Self::Result {
            Err(crate::application::ports::InfraError::msg(
                "connection refused",
            ))
        }
    }

    ::actors::instrument!(Unreachable: TakeRequest);

    #[actix_web::test]
    async fn without_the_shared_state_a_replica_limits_on_its_own() {
        use actix::Actor;
        let down = ::actors::ActorRef::new(Unreachable.start()).port();
        let limit = RateLimit::new(60, 2, Some(down)).unwrap();
        let client = "192.0.2.9".parse().unwrap();
        assert!(limit.take(client).await.is_ok() && limit.take(client).await.is_ok());
        assert!(limit.take(client).await.is_err(), "the local burst holds");
    }
}
