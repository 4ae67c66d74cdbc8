//! Configuration of credentials: how passwords are hashed (`PASSWORD_HASH`, `BCRYPT_COST`,
//! `ARGON2_*`), how much memory the hashing pool may hold, and breached-password screening
//! (`BREACHED_PASSWORDS_*`, plus the outbound-address rule its HTTP client follows).

use super::{ConfigError, Env, err};
use crate::domain::{Argon2Params, PasswordHashing};
use crate::variables as var;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct CredentialSettings {
    /// What new hashes are made with (and what older ones are re-hashed to at login).
    pub hashing: PasswordHashing,
    /// The hashing pool never holds more than this at once (Argon2id's memory per hash counts).
    pub hashing_memory_kib: u64,
    /// `None`: screening off.
    pub breached: Option<BreachedPasswords>,
}

#[derive(Clone, Debug)]
pub struct BreachedPasswords {
    pub source: BreachSource,
    pub timeout: Duration,
    /// `true` (`BREACHED_PASSWORDS_ON_ERROR=deny`): refuse the password when the check fails.
    pub deny_on_error: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreachSource {
    /// A k-anonymity range API (Have I Been Pwned's); the base URL, without a trailing slash.
    RangeApi {
        base_url: String,
        /// `OUTBOUND_ALLOW_PRIVATE_ADDRESSES`: may it resolve to a private address (tests)?
        allow_private: bool,
    },
    /// A local file of sorted uppercase SHA-1 hashes (air-gapped deployments).
    File(PathBuf),
}

fn flag(env: &Env<'_>, variable: var::Var) -> Result<bool, ConfigError> {
    env.choice(
        variable,
        &[("true", true), ("1", true), ("false", false), ("0", false)],
        "true or false",
    )
}

impl CredentialSettings {
    pub(super) fn read(env: &Env<'_>, production: bool) -> Result<Self, ConfigError> {
        let bcrypt_cost = env.num(var::BCRYPT_COST, 4, 31)?;
        if production && bcrypt_cost < 10 {
            return Err(err(
                var::BCRYPT_COST.name,
                "must be at least 10 in production",
            ));
        }
        let parallelism = env.num(var::ARGON2_PARALLELISM, 1, 16)?;
        let argon2 = Argon2Params {
            // The argon2 crate's own floor is 8 KiB per lane; 4 GiB is far past any sane setting.
            memory_kib: env.num(var::ARGON2_MEMORY_KIB, 8 * parallelism, 4 * 1024 * 1024)?,
            iterations: env.num(var::ARGON2_ITERATIONS, 1, 100)?,
            parallelism,
        };
        let hashing = env.choice(
            var::PASSWORD_HASH,
            &[
                ("argon2id", PasswordHashing::Argon2id(argon2)),
                ("bcrypt", PasswordHashing::Bcrypt { cost: bcrypt_cost }),
            ],
            "argon2id or bcrypt",
        )?;
        let hashing_memory_kib =
            env.num::<u64>(var::PASSWORD_HASH_MEMORY_MIB, 1, 1024 * 1024)? * 1024;
        Ok(Self {
            hashing,
            hashing_memory_kib,
            breached: breached(env)?,
        })
    }
}

fn breached(env: &Env<'_>) -> Result<Option<BreachedPasswords>, ConfigError> {
    let url = env.get(var::BREACHED_PASSWORDS_URL);
    let file = env.get(var::BREACHED_PASSWORDS_FILE);
    // All read whether or not screening is on, so that a bad value is refused either way.
    let allow_private = flag(env, var::OUTBOUND_ALLOW_PRIVATE_ADDRESSES)?;
    let timeout = env.millis(var::BREACHED_PASSWORDS_TIMEOUT_MS, 50, 60_000)?;
    let deny_on_error = env.choice(
        var::BREACHED_PASSWORDS_ON_ERROR,
        &[("allow", false), ("deny", true)],
        "allow or deny",
    )?;
    let source = match (url.trim(), file.trim()) {
        ("", "") => return Ok(None),
        (url, "") => {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.parse::<awc::http::Uri>().is_err() {
                return Err(err(
                    var::BREACHED_PASSWORDS_URL.name,
                    format!("not an http(s) URL: {url:?}"),
                ));
            }
            BreachSource::RangeApi {
                base_url: url.trim_end_matches('/').to_owned(),
                allow_private,
            }
        }
        ("", file) => {
            let path = PathBuf::from(file);
            std::fs::metadata(&path).map_err(|e| {
                err(
                    var::BREACHED_PASSWORDS_FILE.name,
                    format!("cannot read {file}: {e}"),
                )
            })?;
            BreachSource::File(path)
        }
        _ => {
            return Err(err(
                var::BREACHED_PASSWORDS_FILE.name,
                "set BREACHED_PASSWORDS_URL or BREACHED_PASSWORDS_FILE, not both",
            ));
        }
    };
    Ok(Some(BreachedPasswords {
        source,
        timeout,
        deny_on_error,
    }))
}
