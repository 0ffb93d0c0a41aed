//! Caravan's use cases: what every entry point (REST, the CLI, later the UI, V2, Acumos,
//! MLflow and federation routes) calls. Each use case checks access, orchestrates catalog,
//! storage and inference, and records the audit trail through the catalog.

pub mod acumos;
mod auth;
mod auth_cache;
mod changes;
mod csrf;
mod datasets;

mod error;
pub mod events;
mod federation;
mod models;
mod onboard;
mod passwords;
mod properties;
mod rate_limit;
mod resumable;
pub mod runner;
mod serving;
mod social;
mod store;
mod sweep;
mod tokens;
pub mod tracking;
mod uploads;
mod users;

use std::{sync::Arc, time::Duration};

use caravan_catalog::Catalog;
use caravan_inference::Validator;
use caravan_storage::BlobStore;

pub use auth::{AuthSettings, Session, TOKEN_PREFIX, actor, require, require_admin};
pub use datasets::{DatasetUpload, check_dataset_name};
pub use error::{
    ConflictKind, CoreError, ErrorClass, INTERNAL_MESSAGE, Result, Subject, chain as error_chain,
};
pub use federation::{PeerRequest, RemoteVersion};
pub use models::{MAX_LIMIT as MAX_SEARCH_LIMIT, ModelDetails, SearchParams};
pub use onboard::Upload;
pub use properties::check_property;
pub use rate_limit::{LoginLimiter, LoginLimits};
pub use resumable::{NewResumableUpload, UploadProgress};
pub use serving::{
    FollowedAlias, IndexEntry, Inference, InferenceRequest, MAX_FOLLOW_WAIT, ModelService,
    ServedModel, Serving, VersionMetadata, run_loaded,
};
pub use social::{MAX_TEXT_CHARS, Ratings};
pub use tokens::CreatedToken;
pub use uploads::{Staged, Stager, UploadLimit};
pub use users::is_valid_username;

/// Limits on what a client may send.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest model upload, in bytes.
    pub max_model_bytes: u64,
    /// How long an unfinished resumable upload lives after its last part.
    pub upload_expiry: Duration,
}

/// Everything the use cases need, shared by all handlers. Sealed: surfaces call use cases;
/// only the use cases here reach the catalog, the blob store and the validator.
#[derive(Clone)]
pub struct Core {
    catalog: Arc<dyn Catalog>,
    blobs: BlobStore,
    validator: Validator,
    auth: AuthSettings,
    limits: Limits,
    /// Absent in processes that do not serve (the CLI).
    serving: Option<Arc<Serving>>,
    login_limiter: Arc<LoginLimiter>,
    auth_cache: Arc<auth_cache::AuthCache>,
    /// Wakes this process's idle workers when work is queued, here or on another replica.
    wakeups: Arc<changes::Wakeups>,
    /// Bumped when an alias may point elsewhere, waking this process's alias followers.
    alias_changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// Set when the process is asked to stop: it stays up but reports not ready, so load
    /// balancers stop sending it requests before its listeners close.
    draining: Arc<std::sync::atomic::AtomicBool>,
}

/// A reservation older than this was left by a push that died; it no longer protects a blob.
const STALE_RESERVATION: Duration = Duration::from_secs(24 * 3600);

impl Core {
    pub fn new(
        catalog: Arc<dyn Catalog>,
        blobs: BlobStore,
        validator: Validator,
        auth: AuthSettings,
        limits: Limits,
        serving: Option<Serving>,
    ) -> Self {
        Self {
            catalog,
            blobs,
            validator,
            auth,
            limits,
            serving: serving.map(Arc::new),
            login_limiter: Arc::new(LoginLimiter::new(LoginLimits::default())),
            auth_cache: Arc::default(),
            wakeups: Arc::default(),
            alias_changes: Arc::new(tokio::sync::watch::channel(0).0),
            draining: Arc::default(),
        }
    }

    /// Whether this process serves models (the CLI does not).
    pub fn serves(&self) -> bool {
        self.serving.is_some()
    }

    /// Where blobs are stored, for the start-up log.
    pub fn storage_description(&self) -> &str {
        self.blobs.description()
    }

    /// The catalog, for tests that look behind the use cases.
    #[cfg(feature = "testing")]
    pub fn catalog_for_tests(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// The blob store, for tests that look behind the use cases.
    #[cfg(feature = "testing")]
    pub fn blobs_for_tests(&self) -> &BlobStore {
        &self.blobs
    }

    /// An instance-wide value kept in the database, made by `generate` the first time (and
    /// the same for every replica sharing the database): the federation signing key.
    #[tracing::instrument(skip_all)]
    pub async fn instance_value(
        &self,
        key: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String> {
        Ok(self.catalog.setting_or_init(key, &generate()).await?)
    }

    /// From now on the process reports not ready (it is about to stop).
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Checks that the database and the object store answer.
    #[tracing::instrument(skip_all)]
    pub async fn ready(&self) -> Result<()> {
        self.catalog.ping().await?;
        self.blobs.ping().await?;
        Ok(())
    }
}
