//! Login attempts, limited in fixed windows and counted in the catalog, so every replica
//! sharing a database counts the same attempts. An attempt is counted when it starts, before
//! its password is checked, for all its keys at once, so concurrent guesses (on any replica)
//! cannot slip past the limit while earlier ones are still hashing; a successful login gives
//! its attempt back.

use std::time::Duration;

use caravan_catalog::LoginAttemptRepo;
use caravan_domain::records::Timestamp;

use crate::{CoreError, Result};
/// How many attempts each key allows per window.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// One username from one client address.
    pub per_user_and_client: u32,
    /// One username from anywhere (slows guessing spread over many addresses).
    pub per_user: u32,
    /// One client address, whatever usernames it tries.
    pub per_client: u32,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_user_and_client: 5,
            per_user: 20,
            per_client: 30,
            window: Duration::from_secs(60),
        }
    }
}

pub struct LoginLimiter {
    limits: LoginLimits,
}

fn keys(user: &str, client: &str) -> [String; 3] {
    let user = user.to_lowercase();
    [
        format!("p|{user}|{client}"),
        format!("u|{user}"),
        format!("c|{client}"),
    ]
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self { limits }
    }

    /// Counts an attempt for `user` from `client`, or refuses it while any of its keys has no
    /// attempts left in the current window.
    pub async fn begin(
        &self,
        attempts: &dyn LoginAttemptRepo,
        user: &str,
        client: &str,
    ) -> Result<()> {
        let limits = self.limits;
        let caps = [
            limits.per_user_and_client,
            limits.per_user,
            limits.per_client,
        ];
        let keyed: Vec<(String, i64)> = keys(user, client)
            .into_iter()
            .zip(caps.map(i64::from))
            .collect();
        match attempts
            .count_login_attempt(&keyed, Timestamp::now(), limits.window)
            .await?
        {
            None => Ok(()),
            Some(retry_after) => Err(CoreError::RateLimited { retry_after }),
        }
    }

    /// A successful login: its attempt is given back, and the pair's earlier failures are
    /// forgotten.
    pub async fn succeeded(
        &self,
        attempts: &dyn LoginAttemptRepo,
        user: &str,
        client: &str,
    ) -> Result<()> {
        let [pair, user, client] = keys(user, client);
        Ok(attempts.login_succeeded(&pair, &[user, client]).await?)
    }

    /// Forgets windows that ended (run now and then: the table holds only live windows).
    pub async fn prune(&self, attempts: &dyn LoginAttemptRepo) -> Result<u64> {
        let ended = chrono::Utc::now()
            - chrono::Duration::from_std(self.limits.window).map_err(CoreError::internal)?;
        Ok(attempts
            .prune_login_attempts(Timestamp::from_datetime(ended))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn limits(pair: u32, user: u32, client: u32) -> LoginLimits {
        LoginLimits {
            per_user_and_client: pair,
            per_user: user,
            per_client: client,
            window: Duration::from_secs(60),
        }
    }

    fn refused(result: Result<()>) -> bool {
        matches!(result, Err(CoreError::RateLimited { retry_after }) if (1..=60).contains(&retry_after))
    }

    async fn catalog() -> Arc<dyn caravan_catalog::Catalog> {
        caravan_catalog::open("sqlite::memory:", 1).await.unwrap()
    }

    #[tokio::test]
    async fn attempts_past_a_pairs_limit_are_refused_until_a_success() {
        let (db, limiter) = (catalog().await, LoginLimiter::new(limits(2, 100, 100)));
        let db = db.as_ref();
        limiter.begin(db, "Alice", "10.0.0.1").await.unwrap();
        limiter.begin(db, "alice", "10.0.0.1").await.unwrap();
        assert!(
            refused(limiter.begin(db, "ALICE", "10.0.0.1").await),
            "names are case-blind"
        );
        limiter.begin(db, "alice", "10.0.0.2").await.unwrap();
        limiter.begin(db, "bob", "10.0.0.1").await.unwrap();
        limiter.succeeded(db, "alice", "10.0.0.1").await.unwrap();
        limiter.begin(db, "alice", "10.0.0.1").await.unwrap();
    }

    #[tokio::test]
    async fn a_user_and_a_client_address_each_have_their_own_limit() {
        let (db, limiter) = (catalog().await, LoginLimiter::new(limits(100, 3, 4)));
        let db = db.as_ref();
        for client in ["a", "b", "c"] {
            limiter.begin(db, "alice", client).await.unwrap();
        }
        assert!(
            refused(limiter.begin(db, "alice", "d").await),
            "one user from many addresses"
        );
        limiter.begin(db, "bob", "d").await.unwrap();
        for user in ["carol", "dave", "erin"] {
            limiter.begin(db, user, "d").await.unwrap();
        }
        assert!(
            refused(limiter.begin(db, "frank", "d").await),
            "many users from one address"
        );
        // A refused attempt counts nothing: another address still gets bob's last tries.
        limiter.begin(db, "bob", "e").await.unwrap();
    }

    #[tokio::test]
    async fn a_window_that_ended_starts_again_and_is_pruned() {
        let db = catalog().await;
        let limiter = LoginLimiter::new(LoginLimits {
            window: Duration::ZERO,
            ..limits(1, 1, 1)
        });
        for _ in 0..3 {
            limiter.begin(db.as_ref(), "alice", "a").await.unwrap();
        }
        assert_eq!(limiter.prune(db.as_ref()).await.unwrap(), 3, "three keys");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_attempts_are_counted_before_any_finishes() {
        let db = catalog().await;
        let limiter = Arc::new(LoginLimiter::new(limits(5, 100, 100)));
        let tries: Vec<_> = (0..60)
            .map(|_| {
                let (db, limiter) = (db.clone(), limiter.clone());
                tokio::spawn(async move { limiter.begin(db.as_ref(), "alice", "a").await.is_ok() })
            })
            .collect();
        let mut admitted = 0;
        for t in tries {
            admitted += usize::from(t.await.unwrap());
        }
        assert_eq!(admitted, 5);
    }
}
