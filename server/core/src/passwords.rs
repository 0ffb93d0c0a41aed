//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), off the async
//! threads because each hash takes tens of milliseconds by design, and bounded: at most one
//! hash per core runs at once and a short queue waits, so a flood of logins costs a fixed
//! amount of memory and leaves cores to everything else; beyond the queue a caller is told to
//! retry.

use std::sync::{
    LazyLock,
    atomic::{AtomicUsize, Ordering},
};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use crate::{CoreError, Result};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted, in bytes (checked before any work: argon2 reads all of it).
pub const MAX_PASSWORD: usize = 1024;

/// Hashes waiting for a worker, per worker, before callers are refused.
const QUEUE_PER_WORKER: usize = 16;

struct Workers {
    running: Semaphore,
    capacity: usize,
    waiting: AtomicUsize,
}

static WORKERS: LazyLock<Workers> = LazyLock::new(|| {
    let capacity = std::thread::available_parallelism().map_or(2, |n| n.get());
    Workers {
        running: Semaphore::new(capacity),
        capacity,
        waiting: AtomicUsize::new(0),
    }
});

/// Runs one argon2 computation on a worker, waiting for a free one if the queue has room.
async fn on_worker<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let workers = &*WORKERS;
    if workers.waiting.fetch_add(1, Ordering::AcqRel) >= workers.capacity * QUEUE_PER_WORKER {
        workers.waiting.fetch_sub(1, Ordering::AcqRel);
        metrics::counter!("caravan_password_hashes_refused_total").increment(1);
        return Err(CoreError::RateLimited { retry_after: 1 });
    }
    let permit = workers.running.acquire().await;
    workers.waiting.fetch_sub(1, Ordering::AcqRel);
    let _permit = permit.map_err(CoreError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(CoreError::internal)?
}

/// Refuses a password too long to be worth hashing.
pub fn check_length(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD {
        return Err(CoreError::Invalid(format!(
            "a password must be at most {MAX_PASSWORD} bytes"
        )));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(CoreError::Invalid(format!(
            "a password must be at least {MIN_PASSWORD} characters"
        )));
    }
    check_length(&password)?;
    on_worker(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(CoreError::internal)
    })
    .await
}

/// Verifies `password` against a stored hash; with no hash, burns the same time anyway so
/// that response times do not reveal which usernames exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    check_length(&password)?;
    on_worker(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored).map_err(CoreError::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$jv1u3Gk9kZbHqtW2yR5eMsoFVQ1gS3Bq1nCoV3tVfQI";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_hashes_runs_a_bounded_number_at_once_and_refuses_the_rest() {
        let capacity = WORKERS.capacity;
        let flood = capacity * (QUEUE_PER_WORKER + 1) + 40;
        let started = std::sync::Arc::new(AtomicUsize::new(0));
        let peak = std::sync::Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..flood)
            .map(|_| {
                let (started, peak) = (started.clone(), peak.clone());
                tokio::spawn(on_worker(move || {
                    let now = started.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    started.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                }))
            })
            .collect();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => {}
                Err(CoreError::RateLimited { retry_after: 1 }) => refused += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(
            peak.load(Ordering::SeqCst) <= capacity,
            "at most one per core"
        );
        assert!(refused >= 20, "{refused} of {flood} refused");
        assert!(refused < flood, "the queue's worth ran");
        // The queue is free again.
        on_worker(|| Ok(())).await.unwrap();
    }

    #[tokio::test]
    async fn overlong_passwords_are_refused_before_any_hashing() {
        let long = "p".repeat(MAX_PASSWORD + 1);
        assert!(matches!(
            hash(long.clone()).await,
            Err(CoreError::Invalid(_))
        ));
        assert!(matches!(
            verify(long, None).await,
            Err(CoreError::Invalid(_))
        ));
        assert!(!verify("p".repeat(MAX_PASSWORD), None).await.unwrap());
    }
}
