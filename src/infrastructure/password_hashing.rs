//! Hashing and verifying passwords, whichever algorithm: what the hashing pool's actors run, and
//! what the two places outside it use (the start-up's dummy hash, `hexactor admin create`). New
//! hashes follow the configured [`PasswordHashing`]; verification follows the stored hash's own
//! format, so that bcrypt hashes keep verifying after the switch to Argon2id.

use crate::application::ports::Verified;
use crate::domain::{Argon2Params, BCRYPT_MAX_BYTES, Password, PasswordHash, PasswordHashing};
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("bcrypt")]
    Bcrypt(#[source] bcrypt::BcryptError),
    #[error("argon2id parameters")]
    Argon2Params(#[source] argon2::Error),
    #[error("argon2id")]
    Argon2(#[source] argon2::password_hash::Error),
}

fn argon2(params: &Argon2Params) -> Result<argon2::Argon2<'static>, HashError> {
    let params = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(HashError::Argon2Params)?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// A new hash of `secret` (a normalised password) with a fresh random salt.
pub fn hash(hashing: &PasswordHashing, secret: &str) -> Result<PasswordHash, HashError> {
    match hashing {
        // Non-truncating: bcrypt ignores bytes past its key; this refuses rather than silently
        // hashing a prefix (the hashing pool refuses such a new password before it gets here).
        PasswordHashing::Bcrypt { cost } => bcrypt::non_truncating_hash(secret, *cost)
            .map(PasswordHash::new)
            .map_err(HashError::Bcrypt),
        PasswordHashing::Argon2id(params) => argon2(params)?
            .hash_password(secret.as_bytes())
            .map(|phc| PasswordHash::new(phc.to_string()))
            .map_err(HashError::Argon2),
    }
}

/// Does `secret` match `stored`? Read from the hash's own format; anything unreadable is no match.
fn matches(secret: &str, stored: &PasswordHash) -> bool {
    match stored.scheme() {
        // Longer input can never match a bcrypt hash (none was ever made from such input).
        Some(PasswordHashing::Bcrypt { .. }) => {
            secret.len() <= BCRYPT_MAX_BYTES
                && bcrypt::non_truncating_verify(secret, stored.as_str()).unwrap_or(false)
        }
        // The parameters come from the PHC string, not from the configuration.
        Some(PasswordHashing::Argon2id(_)) => argon2::Argon2::default()
            .verify_password(secret.as_bytes(), stored.as_str())
            .is_ok(),
        None => false,
    }
}

/// The normalised password first; if that fails and the password was typed in another form, the
/// form as typed, once: hashes made before passwords were normalised were made from it. The
/// second try happens for unknown accounts too (against the dummy hash), so it tells nothing.
pub fn verify(password: &Password, stored: &PasswordHash) -> Verified {
    if matches(password.expose_secret(), stored) {
        Verified::Yes
    } else if password
        .as_typed()
        .is_some_and(|typed| matches(typed, stored))
    {
        Verified::AsTyped
    } else {
        Verified::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: PasswordHashing = PasswordHashing::Argon2id(Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    });

    fn password(s: &str) -> Password {
        Password::presented(s.to_owned()).unwrap()
    }

    #[test]
    fn argon2id_hashes_verify_and_carry_their_parameters() {
        let hash = hash(&CHEAP, "correct horse battery staple").unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{hash:?}"
        );
        assert_eq!(hash.scheme(), Some(CHEAP));
        assert_eq!(
            verify(&password("correct horse battery staple"), &hash),
            Verified::Yes
        );
        assert_eq!(
            verify(&password("correct horse battery stapler"), &hash),
            Verified::No
        );
        let long = "w".repeat(1024);
        let hash = super::hash(&CHEAP, &long).unwrap();
        assert_eq!(verify(&password(&long), &hash), Verified::Yes);
    }

    #[test]
    fn bcrypt_hashes_keep_verifying_and_longer_input_never_matches() {
        let bcrypt = PasswordHashing::Bcrypt { cost: 4 };
        let hash = hash(&bcrypt, "correct horse battery staple").unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert_eq!(
            verify(&password("correct horse battery staple"), &hash),
            Verified::Yes
        );
        let long = "p".repeat(BCRYPT_MAX_BYTES + 1);
        assert!(
            super::hash(&bcrypt, &long).is_err(),
            "refused, never truncated"
        );
        let prefix = super::hash(&bcrypt, &long[..BCRYPT_MAX_BYTES]).unwrap();
        assert_eq!(verify(&password(&long), &prefix), Verified::No);
    }

    #[test]
    fn a_hash_of_the_password_as_typed_verifies_once_as_typed() {
        let decomposed = "cafe\u{301} au lait please";
        // Made before normalisation: from the bytes as typed.
        let old = hash(&CHEAP, decomposed).unwrap();
        assert_eq!(verify(&password(decomposed), &old), Verified::AsTyped);
        // The composed form (what the hash is re-made from) matches a new hash directly.
        let new = hash(&CHEAP, password(decomposed).expose_secret()).unwrap();
        assert_eq!(verify(&password(decomposed), &new), Verified::Yes);
        assert_eq!(verify(&password("cafe au lait please"), &old), Verified::No);
        assert_eq!(
            verify(&password("x"), &PasswordHash::new("garbage".into())),
            Verified::No
        );
    }
}
