//! A short-lived cache of resolved credentials, so that a busy client (an inference loop, a
//! CI job) costs no database queries per request. Every change to users or tokens made
//! through this process clears it at once; other replicas' changes show within the TTL.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use caravan_domain::Principal;
use sha2::{Digest, Sha256};

const TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<[u8; 32], (Instant, Principal)>>,
    /// Bumped by every clear, so a lookup that started before a change cannot cache its
    /// now-stale result after it.
    generation: AtomicU64,
}

/// The cache key of a credential: its SHA-256, so secrets are never kept in memory.
pub fn key(credential: &str) -> [u8; 32] {
    Sha256::digest(credential.as_bytes()).into()
}

impl AuthCache {
    pub fn get(&self, key: &[u8; 32]) -> Option<Principal> {
        let entries = self.entries.lock().expect("auth cache lock");
        entries
            .get(key)
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, p)| p.clone())
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers a principal until the TTL or `expires_in` (the credential's own expiry),
    /// whichever comes first, unless the cache was cleared since `generation`.
    pub fn put(
        &self,
        key: [u8; 32],
        principal: Principal,
        expires_in: Option<Duration>,
        generation: u64,
    ) {
        let ttl = expires_in.map_or(TTL, |e| e.min(TTL));
        let mut entries = self.entries.lock().expect("auth cache lock");
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() > 10_000 {
            let now = Instant::now();
            entries.retain(|_, (until, _)| now < *until);
        }
        entries.insert(key, (Instant::now() + ttl, principal));
    }

    /// Forgets everything (a user or token changed).
    pub fn clear(&self) {
        let mut entries = self.entries.lock().expect("auth cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}
