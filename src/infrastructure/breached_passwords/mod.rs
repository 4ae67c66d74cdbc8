//! Breached-password screening (NIST SP 800-63B): a new password that appears in a corpus of
//! breached passwords is refused. The hashing pool asks, for every new password, with only its
//! SHA-1 (the plaintext never reaches this actor); the check is a range API
//! (`BREACHED_PASSWORDS_URL`, [`range_api`]) or a local file (`BREACHED_PASSWORDS_FILE`,
//! [`hash_file`]). A failed or slow check (`BREACHED_PASSWORDS_TIMEOUT_MS`) is allowed or denied
//! by `BREACHED_PASSWORDS_ON_ERROR`, logged (with the error, never the password or its hash) and
//! counted in `breached_password_checks_total{outcome}`.
//!
//! One actor on an io thread: the range API's requests are async I/O on it, the file's seeks go
//! to the blocking pool; neither runs on the hashing threads or an HTTP worker.

mod hash_file;
mod range_api;

use crate::application::ports::{InfraError, NewPasswordRefused};
use crate::config::credentials::{BreachSource, BreachedPasswords};
use actix::prelude::*;
use sha1::{Digest, Sha1};
use std::time::Duration;

/// Is the password with this SHA-1 a breached one? `Err` is the refusal to give.
#[derive(Message)]
#[rtype(result = "Result<(), NewPasswordRefused>")]
pub struct ScreenPassword {
    /// 40 uppercase hex characters.
    pub sha1: String,
}

impl ScreenPassword {
    pub fn of(secret: &str) -> Self {
        Self {
            sha1: data_encoding::HEXUPPER.encode(&Sha1::digest(secret.as_bytes())),
        }
    }
}

enum Source {
    Range {
        client: awc::Client,
        base_url: String,
        allow_private: bool,
    },
    File(std::path::PathBuf),
}

pub struct BreachScreen {
    source: Source,
    timeout: Duration,
    deny_on_error: bool,
}

impl BreachScreen {
    /// Built on the thread it runs on (awc's client is not `Send`).
    pub fn new(settings: &BreachedPasswords) -> Self {
        let source = match &settings.source {
            BreachSource::RangeApi {
                base_url,
                allow_private,
            } => Source::Range {
                client: super::outbound::client(*allow_private, settings.timeout),
                base_url: base_url.clone(),
                allow_private: *allow_private,
            },
            BreachSource::File(path) => Source::File(path.clone()),
        };
        Self {
            source,
            timeout: settings.timeout,
            deny_on_error: settings.deny_on_error,
        }
    }
}

impl Actor for BreachScreen {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Screening runs concurrently with itself (each check is a future): a burst of sign-ups
        // must not queue behind one slow answer.
        ctx.set_mailbox_capacity(256);
    }
}

impl Supervised for BreachScreen {}

impl Handler<ScreenPassword> for BreachScreen {
    type Result = ResponseFuture<Result<(), NewPasswordRefused>>;

    fn handle(&mut self, msg: ScreenPassword, _: &mut Context<Self>) -> Self::Result {
        let (timeout, deny_on_error) = (self.timeout, self.deny_on_error);
        let check: futures_util::future::LocalBoxFuture<'static, Result<bool, InfraError>> =
            match &self.source {
                Source::Range {
                    client,
                    base_url,
                    allow_private,
                } => {
                    let (client, base_url, allow) =
                        (client.clone(), base_url.clone(), *allow_private);
                    Box::pin(async move {
                        range_api::contains(&client, &base_url, allow, &msg.sha1, timeout)
                            .await
                            .map_err(|e| InfraError::new("breached-password range API", e))
                    })
                }
                Source::File(path) => {
                    let path = path.clone();
                    Box::pin(async move {
                        actix_web::rt::task::spawn_blocking(move || {
                            hash_file::contains(&path, &msg.sha1)
                        })
                        .await
                        .map_err(|e| InfraError::new("breached-password file", e))?
                        .map_err(|e| InfraError::new("breached-password file", e))
                    })
                }
            };
        Box::pin(async move {
            let checked = match tokio::time::timeout(timeout, check).await {
                Ok(checked) => checked,
                Err(elapsed) => Err(InfraError::new("breached-password check", elapsed)),
            };
            match checked {
                Ok(false) => {
                    crate::metrics::breached_password_check("clean");
                    Ok(())
                }
                Ok(true) => {
                    crate::metrics::breached_password_check("breached");
                    tracing::info!("a new password was refused: it appears in known breaches");
                    Err(NewPasswordRefused::Breached)
                }
                Err(error) => {
                    let outcome = if deny_on_error {
                        "error_denied"
                    } else {
                        "error_allowed"
                    };
                    crate::metrics::breached_password_check(outcome);
                    tracing::warn!(error = %::actors::ErrorChain(&error), outcome, "breached-password check failed");
                    if deny_on_error {
                        Err(NewPasswordRefused::Unscreened)
                    } else {
                        Ok(())
                    }
                }
            }
        })
    }
}

::actors::instrument!(BreachScreen: ScreenPassword);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_uppercase_sha1_hex() {
        assert_eq!(
            ScreenPassword::of("password").sha1,
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
    }
}
