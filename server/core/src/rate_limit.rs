//! A small fixed-window limiter for failed logins, kept in memory (per process).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{CoreError, Result};

/// Allows `max_failures` failed attempts per key within `window`.
pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses an attempt while the key has used up its failures in the current window.
    pub fn check(&self, key: &str) -> Result<()> {
        let failures = self.failures.lock().expect("limiter lock");
        if let Some((count, since)) = failures.get(key) {
            let elapsed = since.elapsed();
            if *count >= self.max_failures && elapsed < self.window {
                let retry_after = (self.window - elapsed).as_secs().max(1);
                return Err(CoreError::RateLimited { retry_after });
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, key: &str) {
        let mut failures = self.failures.lock().expect("limiter lock");
        if failures.len() > 100_000 {
            let window = self.window;
            failures.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = failures
            .entry(key.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn reset(&self, key: &str) {
        self.failures.lock().expect("limiter lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_limit_are_refused_until_the_window_ends() {
        let limiter = LoginLimiter::new(2, Duration::from_secs(60));
        limiter.check("a").unwrap();
        limiter.record_failure("a");
        limiter.record_failure("a");
        assert!(
            matches!(limiter.check("a"), Err(CoreError::RateLimited { retry_after }) if retry_after <= 60)
        );
        limiter.check("b").unwrap();
        limiter.reset("a");
        limiter.check("a").unwrap();

        let short = LoginLimiter::new(1, Duration::ZERO);
        short.record_failure("a");
        short.check("a").unwrap();
    }
}
