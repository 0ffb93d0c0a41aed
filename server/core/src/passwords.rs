//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), off the async
//! threads because each hash takes tens of milliseconds by design.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::{CoreError, Result};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

pub async fn hash(password: String) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(CoreError::Invalid(format!(
            "a password must be at least {MIN_PASSWORD} characters"
        )));
    }
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(CoreError::internal)
    })
    .await
    .map_err(CoreError::internal)?
}

/// Verifies `password` against a stored hash; with no hash, burns the same time anyway so
/// that response times do not reveal which usernames exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored).map_err(CoreError::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(CoreError::internal)?
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$jv1u3Gk9kZbHqtW2yR5eMsoFVQ1gS3Bq1nCoV3tVfQI";
