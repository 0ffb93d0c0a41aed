//! Serving models: resolving a request to a loaded version (with a short-lived cache of model
//! records and aliases, so inference does not query the database per request), loading,
//! unloading, and the pins that keep aliased versions in memory.

mod deploy;
mod follow;
mod infer;
mod service;

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use caravan_domain::records::ModelRecord;
use caravan_inference::serving::Registry;

pub use deploy::IndexEntry;
pub use follow::{FollowedAlias, MAX_FOLLOW_WAIT};
pub use infer::{Inference, InferenceRequest, VersionMetadata, run_loaded};
pub use service::ModelService;

/// How long a cached model record and its aliases are trusted. Changes made through this
/// process invalidate the entry at once; other replicas' changes show within this time.
const MODEL_CACHE_TTL: Duration = Duration::from_secs(1);

/// A model as serving sees it.
#[derive(Debug)]
pub struct ServedModel {
    pub record: ModelRecord,
    pub aliases: HashMap<String, i64>,
    /// The version numbers the catalog holds: a number not among them is never served, even
    /// if it is still loaded here (deleted through another replica).
    pub versions: BTreeSet<i64>,
    /// Version records read while this entry is cached (versions are immutable; the entry,
    /// and so these, lives for the cache's TTL), so that describing a version per request
    /// (the Acumos model-runner surface does) costs no query.
    pub records: std::sync::Mutex<HashMap<i64, Arc<caravan_domain::records::VersionRecord>>>,
}

/// The serving state shared by all requests.
pub struct Serving {
    pub registry: Registry,
    /// May anonymous callers run public models?
    pub anonymous: bool,
    cache: Mutex<HashMap<String, (Instant, Arc<ServedModel>)>>,
    /// Bumped by every invalidation, so that a lookup which started before a change cannot
    /// put its stale result into the cache after the change.
    generation: AtomicU64,
    ready: AtomicBool,
}

impl Serving {
    pub fn new(registry: Registry, anonymous: bool) -> Self {
        Self {
            registry,
            anonymous,
            cache: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            ready: AtomicBool::new(false),
        }
    }

    /// True once the aliased versions were loaded after start-up.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    fn cached(&self, name: &str) -> Option<Arc<ServedModel>> {
        let cache = self.cache.lock().expect("model cache lock");
        cache
            .get(name)
            .filter(|(at, _)| at.elapsed() < MODEL_CACHE_TTL)
            .map(|(_, m)| m.clone())
    }

    /// The generation to pass to [`Serving::remember`] for a lookup starting now.
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a lookup, unless something was invalidated since it started.
    fn remember(&self, name: &str, model: Arc<ServedModel>, generation: u64) {
        let mut cache = self.cache.lock().expect("model cache lock");
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if cache.len() > 10_000 {
            cache.retain(|_, (at, _)| at.elapsed() < MODEL_CACHE_TTL);
        }
        cache.insert(name.to_owned(), (Instant::now(), model));
    }

    /// Forgets every cached model (what changed elsewhere is unknown).
    pub fn invalidate_all(&self) {
        let mut cache = self.cache.lock().expect("model cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.clear();
    }

    /// Forgets a model's cached record (after a change to it or its aliases).
    pub fn invalidate(&self, name: &str) {
        let mut cache = self.cache.lock().expect("model cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.remove(name);
    }
}
