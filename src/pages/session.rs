//! The browser session: a server-side session (a row of `auth_sessions`, opened by the same
//! login use case as the API's, so it is listed with the others and revoked on every replica the
//! same way) carried by the cookie `__Host-hexactor-session`.
//!
//! The cookie holds the session id, the user id, when the session began and when it was last
//! seen, with an HMAC over them: a forged or edited cookie is refused without a query, and the
//! idle and absolute timeouts are checked before the session is asked about. Every request
//! re-issues it with a new "last seen", so idleness is measured by the browser's own requests.
//!
//! CSRF: every form carries a token derived from the session (or, before sign-in, from the
//! random `__Host-hexactor-csrf` cookie), and a POST whose `Origin` is another origin (or whose
//! `Sec-Fetch-Site` says cross-site) is refused before the token is looked at.

use super::PageConfig;
use super::error::PageError;
use crate::application::auth::Logout;
use crate::application::ports::CheckSession;
use crate::domain::{Principal, Role, UserId};
use crate::http::ApiState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "__Host-hexactor-session";
pub const CSRF_COOKIE: &str = "__Host-hexactor-csrf";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn mac(key: &[u8], label: &str, data: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(label.as_bytes());
    mac.update(b"\0");
    mac.update(data.as_bytes());
    mac
}

/// What the session cookie says, once its MAC checks out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ticket {
    session_id: Uuid,
    user_id: Uuid,
    /// Unix seconds.
    started: i64,
    seen: i64,
}

impl Ticket {
    fn seal(&self, key: &[u8]) -> String {
        let body = format!(
            "{}.{}.{}.{}",
            self.session_id.simple(),
            self.user_id.simple(),
            self.started,
            self.seen
        );
        let tag = B64.encode(mac(key, "session", &body).finalize().into_bytes());
        format!("{body}.{tag}")
    }

    fn open(key: &[u8], value: &str) -> Option<Self> {
        let (body, tag) = value.rsplit_once('.')?;
        mac(key, "session", body)
            .verify_slice(&B64.decode(tag).ok()?)
            .ok()?;
        let mut parts = body.split('.');
        let ticket = Ticket {
            session_id: parts.next()?.parse().ok()?,
            user_id: parts.next()?.parse().ok()?,
            started: parts.next()?.parse().ok()?,
            seen: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(ticket)
    }

    fn expired(&self, now: i64, config: &PageConfig) -> bool {
        now - self.seen > config.session_idle.as_secs() as i64
            || now - self.started > config.session_max.as_secs() as i64
            || self.seen > now + 60
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Who is at the browser: the signed-in principal, if any, and what the answer must set.
pub struct Visitor {
    pub principal: Option<Principal>,
    config: web::Data<PageConfig>,
    ticket: Option<Ticket>,
    seed: String,
    new_seed: bool,
    /// The session cookie is to be cleared (signed out, expired, revoked or forged).
    clear: bool,
}

impl Visitor {
    pub fn config(&self) -> &PageConfig {
        &self.config
    }

    pub fn is_admin(&self) -> bool {
        self.principal
            .as_ref()
            .is_some_and(|p| p.role == Role::Admin)
    }

    /// When the signed-in person signed in (OIDC's `auth_time`).
    pub fn signed_in_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let ticket = self.ticket.as_ref().filter(|_| self.principal.is_some())?;
        chrono::DateTime::from_timestamp(ticket.started, 0)
    }

    /// The CSRF token the forms of this answer carry.
    pub fn csrf_token(&self) -> String {
        B64.encode(self.csrf_mac().finalize().into_bytes())
    }

    /// The token's MAC, over the session (or, before sign-in, the random seed).
    fn csrf_mac(&self) -> Hmac<Sha256> {
        let basis = match &self.ticket {
            Some(t) if self.principal.is_some() => format!("session:{}", t.session_id),
            _ => format!("anonymous:{}", self.seed),
        };
        mac(self.config.key(), "csrf", &basis)
    }

    /// Refuses a form posted from another origin or without this session's token.
    pub fn check_form(&self, req: &HttpRequest, token: &str) -> Result<(), PageError> {
        let headers = req.headers();
        if let Some(origin) = headers.get("origin") {
            if origin.as_bytes() != self.config.origin.as_bytes() {
                return Err(PageError::Csrf("the form was sent from another site"));
            }
        } else if headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site")
        {
            return Err(PageError::Csrf("the form was sent from another site"));
        }
        // hmac's verification compares in constant time.
        let same = B64
            .decode(token)
            .is_ok_and(|tag| self.csrf_mac().verify_slice(&tag).is_ok());
        if self.new_seed || !same {
            return Err(PageError::Csrf(
                "the form has expired or was not sent by this page; reload it and try again",
            ));
        }
        Ok(())
    }

    /// The session `session_id` is now this browser's.
    pub fn sign_in(&mut self, principal: Principal) {
        let now = now();
        self.ticket = Some(Ticket {
            session_id: principal.session_id,
            user_id: principal.user_id.as_uuid(),
            started: now,
            seen: now,
        });
        self.principal = Some(principal);
        self.clear = false;
    }

    /// Signs out for good: the session is revoked (on every replica), not only forgotten here.
    pub async fn end(&mut self, state: &ApiState) -> Result<(), PageError> {
        if let Some(principal) = self.principal.clone() {
            let ended = state.auth.logout.ask(Logout {
                principal,
                everywhere: false,
            });
            ended.await?.map_err(crate::http::problem::ApiError::from)?;
        }
        self.sign_out();
        Ok(())
    }

    pub fn sign_out(&mut self) {
        self.ticket = None;
        self.principal = None;
        self.clear = true;
    }

    /// The answer with this visitor's cookies set (renewed session, CSRF seed, or removal).
    pub fn finish(&self, mut response: HttpResponse) -> HttpResponse {
        let mut cookies = Vec::new();
        if self.new_seed {
            cookies.push(cookie(CSRF_COOKIE, self.seed.clone()));
        }
        match (&self.ticket, &self.principal) {
            (Some(ticket), Some(_)) => {
                let ticket = Ticket {
                    seen: now(),
                    ..*ticket
                };
                cookies.push(cookie(SESSION_COOKIE, ticket.seal(self.config.key())));
            }
            _ if self.clear => {
                let mut removal = cookie(SESSION_COOKIE, String::new());
                removal.make_removal();
                cookies.push(removal);
            }
            _ => {}
        }
        for c in cookies {
            if let Err(e) = response.add_cookie(&c) {
                tracing::warn!(error = %e, "a page cookie could not be set");
            }
        }
        response
    }
}

fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish()
}

impl FromRequest for Visitor {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let config = req.app_data::<web::Data<PageConfig>>().cloned();
        let state = req.app_data::<web::Data<ApiState>>().cloned();
        let session = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let seed = req
            .cookie(CSRF_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() == 43 && B64.decode(v).is_ok());
        Box::pin(async move {
            let (config, state) = match (config, state) {
                (Some(c), Some(s)) => (c, s),
                _ => return Err(PageError::Internal("page state missing".into())),
            };
            if !config.secure_context {
                return Err(PageError::InsecureContext);
            }
            let (seed, new_seed) = match seed {
                Some(seed) => (seed, false),
                None => (
                    B64.encode(crate::application::mfa::random_bytes::<32>()),
                    true,
                ),
            };
            let mut visitor = Visitor {
                principal: None,
                ticket: None,
                clear: session.is_some(),
                seed,
                new_seed,
                config,
            };
            let Some(ticket) = session.and_then(|v| Ticket::open(visitor.config.key(), &v)) else {
                return Ok(visitor);
            };
            let principal = state
                .authentication
                .sessions
                .ask(CheckSession {
                    session_id: ticket.session_id,
                    user_id: UserId::from_uuid(ticket.user_id),
                })
                .await
                .map_err(|e| PageError::Unavailable(e.to_string()))?
                .map_err(|e| PageError::Unavailable(e.to_string()))?;
            match principal {
                Some(principal) if ticket.expired(now(), &visitor.config) => {
                    // Timed out: the session ends for good, not only in this browser.
                    let ended = state.auth.logout.ask(Logout {
                        principal,
                        everywhere: false,
                    });
                    if let Err(e) = ended
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map_err(|e| e.to_string()))
                    {
                        tracing::warn!(error = %e, "an expired browser session could not be revoked");
                    }
                }
                Some(principal) => {
                    visitor.ticket = Some(ticket);
                    visitor.principal = Some(principal);
                    visitor.clear = false;
                }
                None => {}
            }
            Ok(visitor)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        Ticket {
            session_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            started: 1_000,
            seen: 1_500,
        }
    }

    #[test]
    fn a_sealed_ticket_opens_with_its_key_only() {
        let t = ticket();
        let sealed = t.seal(b"key one");
        assert_eq!(Ticket::open(b"key one", &sealed), Some(t));
        assert_eq!(Ticket::open(b"key two", &sealed), None);
    }

    #[test]
    fn an_edited_ticket_is_refused() {
        let sealed = ticket().seal(b"k");
        let (body, tag) = sealed.rsplit_once('.').unwrap();
        let later = body.replace(".1500", ".9999");
        assert_eq!(Ticket::open(b"k", &format!("{later}.{tag}")), None);
        assert_eq!(Ticket::open(b"k", body), None);
    }

    fn config(idle: u64, max: u64) -> PageConfig {
        PageConfig {
            product_name: "hexactor".into(),
            stylesheet: None,
            origin: "http://localhost:8000".into(),
            secure_context: true,
            key: b"k".to_vec(),
            session_idle: std::time::Duration::from_secs(idle),
            session_max: std::time::Duration::from_secs(max),
            command_wait: std::time::Duration::from_secs(1),
        }
    }

    #[test]
    fn a_ticket_expires_when_idle_or_too_old_or_from_the_future() {
        // started 1000, seen 1500; idle 600 s, at most 3600 s in all.
        let (t, c) = (ticket(), config(600, 3_600));
        assert!(
            !t.expired(2_100, &c),
            "idle exactly the limit is still live"
        );
        assert!(t.expired(2_101, &c), "idle past the limit");
        let busy = Ticket { seen: 4_500, ..t };
        assert!(
            !busy.expired(4_600, &c),
            "used recently, within the absolute limit"
        );
        assert!(
            busy.expired(4_601, &c),
            "the absolute limit holds however busy"
        );
        assert!(
            t.expired(1_439, &c),
            "a last-seen more than a minute ahead is forged"
        );
        assert!(!t.expired(1_440, &c), "a minute of clock skew is tolerated");
    }
}
