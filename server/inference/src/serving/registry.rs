//! The versions loaded for serving: loaded on first use (once, however many requests ask at
//! the same time), kept in an LRU under an estimated memory budget, never evicted while pinned
//! (an alias points to them).

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use ort::environment::Environment;
use tokio::sync::OnceCell;

use super::{LoadedModel, ServingSettings};

/// A model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionKey {
    pub model_id: uuid::Uuid,
    pub version: i64,
}

/// A model file to load: its path, and whatever keeps it there until loading is done.
pub struct ModelFile {
    pub path: PathBuf,
    pub keep: Option<Box<dyn Send>>,
}

/// Why a version could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Fetch(String),
    #[error("{0}")]
    Load(String),
    #[error("version is pinned by an alias")]
    Pinned,
}

type Cell = Arc<OnceCell<Arc<LoadedModel>>>;

struct Slot {
    cell: Cell,
    last_used: u64,
}

#[derive(Default)]
struct State {
    slots: HashMap<VersionKey, Slot>,
    pinned: HashSet<VersionKey>,
    /// Versions unloaded on request and not loaded since: not ready, as in Triton.
    unloaded: HashSet<VersionKey>,
    clock: u64,
}

/// Whether a known version is in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadState {
    Loaded,
    Loading,
}

pub struct Registry {
    env: &'static Environment,
    settings: ServingSettings,
    state: Mutex<State>,
}

impl Registry {
    /// The registry, with the shared serving arena registered when `inference_memory` is set
    /// (once per process: a second registry shares the first one's arena).
    pub fn new(env: &'static Environment, settings: ServingSettings) -> Self {
        if settings.inference_memory > 0 {
            match super::arena::register(env, settings.inference_memory) {
                Ok(ceiling) => tracing::info!(
                    mib = ceiling >> 20,
                    "tensors of running requests share one bounded arena"
                ),
                Err(e) => tracing::error!(error = %e, "running requests have no memory bound"),
            }
        }
        Self {
            env,
            settings,
            state: Mutex::new(State::default()),
        }
    }

    pub fn settings(&self) -> &ServingSettings {
        &self.settings
    }

    /// The loaded version, if it is in memory (counts as a use for the LRU).
    pub fn get(&self, key: VersionKey) -> Option<Arc<LoadedModel>> {
        let mut state = self.state.lock().expect("registry lock");
        state.clock += 1;
        let clock = state.clock;
        let slot = state.slots.get_mut(&key)?;
        slot.last_used = clock;
        slot.cell.get().cloned()
    }

    /// The loaded version, loading it with the file `fetch` provides if needed. Concurrent
    /// callers for one version share one load; a failed load is forgotten so the next call
    /// tries again.
    pub async fn get_or_load<F, Fut>(
        &self,
        key: VersionKey,
        label: &str,
        fetch: F,
    ) -> Result<Arc<LoadedModel>, LoadError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<ModelFile, String>>,
    {
        if let Some(loaded) = self.get(key) {
            return Ok(loaded);
        }
        let cell = {
            let mut state = self.state.lock().expect("registry lock");
            state.clock += 1;
            let clock = state.clock;
            let slot = state.slots.entry(key).or_insert_with(|| Slot {
                cell: Cell::default(),
                last_used: clock,
            });
            slot.last_used = clock;
            slot.cell.clone()
        };
        let mut loaded_here = false;
        let result = cell
            .get_or_try_init(|| async {
                loaded_here = true;
                let file = fetch().await.map_err(LoadError::Fetch)?;
                let (env, settings, label) = (self.env, self.settings.clone(), label.to_owned());
                let started = std::time::Instant::now();
                let span = tracing::Span::current();
                let model = tokio::task::spawn_blocking(move || {
                    let _entered = span.enter();
                    let loaded = LoadedModel::load(env, &file.path, key, label, &settings);
                    drop(file);
                    loaded
                })
                .await
                .map_err(|e| LoadError::Load(e.to_string()))?
                .map_err(LoadError::Load)?;
                tracing::info!(model = %model.label, ms = started.elapsed().as_millis() as u64,
                    estimated_mib = model.estimated_bytes >> 20, "loaded for serving");
                Ok(Arc::new(model))
            })
            .await
            .cloned();
        match &result {
            Err(_) => self.forget_failed(key, &cell),
            Ok(_) if loaded_here => {
                self.state
                    .lock()
                    .expect("registry lock")
                    .unloaded
                    .remove(&key);
                self.evict_over_budget(key)
            }
            Ok(_) => {}
        }
        self.publish_gauges();
        result
    }

    fn forget_failed(&self, key: VersionKey, cell: &Cell) {
        let mut state = self.state.lock().expect("registry lock");
        if state
            .slots
            .get(&key)
            .is_some_and(|s| Arc::ptr_eq(&s.cell, cell) && s.cell.get().is_none())
        {
            state.slots.remove(&key);
        }
    }

    /// Evicts the least recently used unpinned versions while the estimate exceeds the budget.
    /// Requests still running on an evicted version finish on it.
    fn evict_over_budget(&self, keep: VersionKey) {
        let mut state = self.state.lock().expect("registry lock");
        loop {
            let total: u64 = state
                .slots
                .values()
                .filter_map(|s| s.cell.get())
                .map(|m| m.estimated_bytes)
                .sum();
            if total <= self.settings.memory_budget {
                return;
            }
            let victim = state
                .slots
                .iter()
                .filter(|(k, s)| {
                    **k != keep && !state.pinned.contains(*k) && s.cell.get().is_some()
                })
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| *k);
            match victim {
                Some(victim) => {
                    let slot = state.slots.remove(&victim).expect("victim exists");
                    if let Some(model) = slot.cell.get() {
                        tracing::info!(model = %model.label, "evicted to stay within the memory budget");
                        forget_gauge(model);
                    }
                }
                None => {
                    tracing::warn!(
                        total_mib = total >> 20,
                        "loaded versions exceed the memory budget, and all are pinned or in use"
                    );
                    return;
                }
            }
        }
    }

    /// Unloads a version; `Pinned` while an alias points to it.
    pub fn unload(&self, key: VersionKey) -> Result<bool, LoadError> {
        let mut state = self.state.lock().expect("registry lock");
        if state.pinned.contains(&key) {
            return Err(LoadError::Pinned);
        }
        state.unloaded.insert(key);
        let removed = state.slots.remove(&key);
        if let Some(model) = removed.as_ref().and_then(|slot| slot.cell.get()) {
            forget_gauge(model);
        }
        let removed = removed.is_some();
        drop(state);
        self.publish_gauges();
        Ok(removed)
    }

    /// Whether a version was unloaded on request and has not been loaded since.
    pub fn was_unloaded(&self, key: VersionKey) -> bool {
        self.state
            .lock()
            .expect("registry lock")
            .unloaded
            .contains(&key)
    }

    /// Drops every version of a model that `exists` says is gone from the catalog, pinned or
    /// not, and its pin: a deleted version is never served again. Requests already running on
    /// one finish on it. Returns how many were dropped.
    pub fn forget_deleted(&self, model_id: uuid::Uuid, exists: impl Fn(i64) -> bool) -> usize {
        let mut state = self.state.lock().expect("registry lock");
        let gone = |k: &VersionKey| k.model_id == model_id && !exists(k.version);
        state.pinned.retain(|k| !gone(k));
        let victims: Vec<VersionKey> = state.slots.keys().filter(|k| gone(k)).copied().collect();
        for key in &victims {
            let slot = state.slots.remove(key).expect("victim exists");
            if let Some(model) = slot.cell.get() {
                tracing::info!(model = %model.label, "unloaded: deleted from the catalog");
                forget_gauge(model);
            }
        }
        drop(state);
        if !victims.is_empty() {
            self.publish_gauges();
        }
        victims.len()
    }

    /// Replaces the set of versions aliases point to.
    pub fn set_pinned(&self, pinned: HashSet<VersionKey>) {
        self.state.lock().expect("registry lock").pinned = pinned;
    }

    pub fn pin(&self, key: VersionKey) {
        self.state.lock().expect("registry lock").pinned.insert(key);
    }

    pub fn is_pinned(&self, key: VersionKey) -> bool {
        self.state
            .lock()
            .expect("registry lock")
            .pinned
            .contains(&key)
    }

    /// Every version in memory or being loaded.
    pub fn index(&self) -> Vec<(VersionKey, LoadState)> {
        let state = self.state.lock().expect("registry lock");
        let mut all: Vec<_> = state
            .slots
            .iter()
            .map(|(k, s)| {
                (
                    *k,
                    if s.cell.get().is_some() {
                        LoadState::Loaded
                    } else {
                        LoadState::Loading
                    },
                )
            })
            .collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    /// The loaded versions themselves (for statistics).
    pub fn loaded(&self) -> Vec<Arc<LoadedModel>> {
        let state = self.state.lock().expect("registry lock");
        state
            .slots
            .values()
            .filter_map(|s| s.cell.get().cloned())
            .collect()
    }

    fn publish_gauges(&self) {
        let loaded = self.loaded();
        metrics::gauge!("caravan_loaded_versions").set(loaded.len() as f64);
        let bytes: u64 = loaded.iter().map(|m| m.estimated_bytes).sum();
        metrics::gauge!("caravan_loaded_estimated_bytes").set(bytes as f64);
        for model in &loaded {
            metrics::gauge!(
                "caravan_loaded_version_estimated_bytes",
                &gauge_labels(model)
            )
            .set(model.estimated_bytes as f64);
        }
    }
}

/// Zeroes an unloaded version's memory gauge (a gauge keeps its last value otherwise).
fn forget_gauge(model: &LoadedModel) {
    metrics::gauge!(
        "caravan_loaded_version_estimated_bytes",
        &gauge_labels(model)
    )
    .set(0.0);
}

/// A version's series is labelled like the inference metrics: `model` and `version`.
fn gauge_labels(model: &LoadedModel) -> [(&'static str, String); 2] {
    let name = model
        .label
        .rsplit_once(':')
        .map_or(model.label.as_str(), |(name, _)| name);
    [
        ("model", name.to_owned()),
        ("version", model.key.version.to_string()),
    ]
}
