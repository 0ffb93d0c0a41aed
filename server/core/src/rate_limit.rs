//! Login attempts, limited in fixed windows and kept in memory (per process). An attempt is
//! counted when it starts, before its password is checked, under one lock for all its keys,
//! so concurrent guesses cannot slip past the limit while earlier ones are still hashing; a
//! successful login gives its attempt back.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

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

/// Keys remembered at most; past that, attempts under new keys are refused until old windows
/// end (memory stays bounded whatever an attacker sends).
const MAX_KEYS: usize = 100_000;

pub struct LoginLimiter {
    limits: LoginLimits,
    attempts: Mutex<HashMap<String, (u32, Instant)>>,
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
        Self {
            limits,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `user` from `client`, or refuses it while any of its keys has no
    /// attempts left in the current window.
    pub fn begin(&self, user: &str, client: &str) -> Result<()> {
        let limits = self.limits;
        let keys = keys(user, client);
        let caps = [
            limits.per_user_and_client,
            limits.per_user,
            limits.per_client,
        ];
        let mut attempts = self.attempts.lock().expect("limiter lock");
        let window = limits.window;
        if attempts.len() + keys.len() > MAX_KEYS {
            attempts.retain(|_, (_, since)| since.elapsed() < window);
        }
        let mut retry_after = 0;
        let mut new_keys = 0;
        for (key, cap) in keys.iter().zip(caps) {
            match attempts.get(key) {
                Some((count, since)) if since.elapsed() < window => {
                    if *count >= cap {
                        retry_after = retry_after.max((window - since.elapsed()).as_secs().max(1));
                    }
                }
                _ => new_keys += 1,
            }
        }
        if retry_after == 0 && attempts.len() + new_keys > MAX_KEYS {
            retry_after = 1;
        }
        if retry_after > 0 {
            return Err(CoreError::RateLimited { retry_after });
        }
        for key in keys {
            let entry = attempts.entry(key).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// A successful login: its attempt is given back, and the pair's earlier failures are
    /// forgotten.
    pub fn succeeded(&self, user: &str, client: &str) {
        let [pair, user, client] = keys(user, client);
        let mut attempts = self.attempts.lock().expect("limiter lock");
        attempts.remove(&pair);
        for key in [user, client] {
            if let Some((count, _)) = attempts.get_mut(&key) {
                *count = count.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn attempts_past_a_pairs_limit_are_refused_until_a_success() {
        let limiter = LoginLimiter::new(limits(2, 100, 100));
        limiter.begin("Alice", "10.0.0.1").unwrap();
        limiter.begin("alice", "10.0.0.1").unwrap();
        assert!(
            refused(limiter.begin("ALICE", "10.0.0.1")),
            "names are case-blind"
        );
        limiter.begin("alice", "10.0.0.2").unwrap();
        limiter.begin("bob", "10.0.0.1").unwrap();
        limiter.succeeded("alice", "10.0.0.1");
        limiter.begin("alice", "10.0.0.1").unwrap();
    }

    #[test]
    fn a_user_and_a_client_address_each_have_their_own_limit() {
        let limiter = LoginLimiter::new(limits(100, 3, 4));
        for client in ["a", "b", "c"] {
            limiter.begin("alice", client).unwrap();
        }
        assert!(
            refused(limiter.begin("alice", "d")),
            "one user from many addresses"
        );
        limiter.begin("bob", "d").unwrap();
        for user in ["carol", "dave", "erin"] {
            limiter.begin(user, "d").unwrap();
        }
        assert!(
            refused(limiter.begin("frank", "d")),
            "many users from one address"
        );
        // A refused attempt counts nothing: another address still gets bob's last tries.
        limiter.begin("bob", "e").unwrap();
    }

    #[test]
    fn a_window_that_ended_starts_again() {
        let limiter = LoginLimiter::new(LoginLimits {
            window: Duration::ZERO,
            ..limits(1, 1, 1)
        });
        for _ in 0..3 {
            limiter.begin("alice", "a").unwrap();
        }
    }

    #[test]
    fn concurrent_attempts_are_counted_before_any_finishes() {
        let limiter = std::sync::Arc::new(LoginLimiter::new(limits(5, 100, 100)));
        let admitted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..60)
                .map(|_| s.spawn(|| limiter.begin("alice", "a").is_ok()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap() as usize)
                .sum()
        });
        assert_eq!(admitted, 5);
    }
}
