//! Zero-touch pipelines: datasets, pipeline specs, a job queue of runs claimed atomically,
//! command trainers with limits, evaluation through the serving engine, gated promotion by
//! hot swap, and lineage.

pub mod columnar;
pub mod dataset;
mod datasets;
mod evaluate;
mod events;
pub mod formats;
mod heartbeat;
pub mod metrics;
mod promote;
mod remote;
mod runner;
pub mod sandbox;
mod score;
mod service;
pub mod spec;
pub mod state;
mod train;
mod triggers;

use std::{path::PathBuf, sync::Arc, time::Duration};

use caravan_catalog::PipelineCatalog;
use caravan_core::{Core, CoreError, UploadLimit};
use caravan_storage::BlobStore;

pub use events::{MAX_ATTEMPTS, spawn_event_delivery};
pub use runner::spawn_workers;
pub use triggers::{WEBHOOK_TOLERANCE_SECS, spawn_scheduler, webhook_signature};

/// How runs are executed on this host.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Whether `command` trainers (processes on this host) may be defined and run.
    pub command_trainers: bool,
    /// Runs at once across every replica on the database (training must not starve serving).
    pub max_concurrent_runs: usize,
    /// Address-space limit of a trainer, in MiB.
    pub trainer_memory_mb: u64,
    /// The executable that applies limits and starts trainers (`caravan __run-limited`).
    pub launcher: PathBuf,
    /// Where runs keep their files while they run.
    pub work_dir: PathBuf,
    pub poll: Duration,
    /// How long a claimed run stays with its worker without a heartbeat.
    pub lease: Duration,
    /// The first retry waits this long, doubling after each failure.
    pub retry_base: Duration,
    pub max_dataset_bytes: u64,
    /// Rows per inference request during evaluation (the serving engine's cap).
    pub max_batch_rows: usize,
    /// How external trainers reach this instance (the URLs in their job requests).
    pub public_url: String,
    /// Where webhook trainers and event hooks may send requests.
    pub outbound: caravan_outbound::OutboundPolicy,
}

/// Why a step did not finish.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Might pass on another attempt (a trainer crash, a timeout, storage trouble).
    #[error("{0}")]
    Retryable(String),
    /// Would fail the same way again (a refused model, a bad mapping).
    #[error("{0}")]
    Permanent(String),
    #[error("cancelled")]
    Cancelled,
}

/// What pipelines reach directly, handed over at start-up: their own tables, and the blob
/// store for local copies of dataset files and for step logs. Every other read or write (models,
/// versions, aliases, staging and storing uploads) goes through the use cases of `Core`.
#[derive(Clone)]
pub struct PipelineStore {
    catalog: Arc<dyn PipelineCatalog>,
    blobs: BlobStore,
}

impl PipelineStore {
    pub fn new(catalog: Arc<dyn PipelineCatalog>, blobs: BlobStore) -> Self {
        Self { catalog, blobs }
    }
}

/// A core refusal a retry would not change.
pub(crate) fn permanent(e: CoreError) -> StepError {
    match e {
        // What failed inside is logged; the run's record says only that it did.
        CoreError::Internal(_) | CoreError::Unavailable(_) => {
            e.log();
            StepError::Retryable(e.public_message())
        }
        other => StepError::Permanent(other.public_message()),
    }
}

/// The pipelines service: what the API calls and what the workers run.
#[derive(Clone)]
pub struct Pipelines {
    pub core: Core,
    store: PipelineStore,
    pub settings: Arc<PipelineSettings>,
    http: reqwest::Client,
}

/// A dataset's file on local disk: the store's own file, or a temporary download.
pub(crate) enum LocalCopy {
    Stored(PathBuf),
    Downloaded(tempfile::TempPath),
}

impl LocalCopy {
    pub fn path(&self) -> &std::path::Path {
        match self {
            LocalCopy::Stored(p) => p,
            LocalCopy::Downloaded(t) => t,
        }
    }
}

impl Pipelines {
    pub fn new(core: Core, store: PipelineStore, settings: PipelineSettings) -> Self {
        Pipelines {
            core,
            store,
            // Webhook trainers' URLs: any pipeline owner sets them.
            http: settings.outbound.client(
                caravan_outbound::Trust::User,
                reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)),
            ),
            settings: Arc::new(settings),
        }
    }

    /// The limit on dataset uploads (`pipelines.max_dataset_bytes`).
    pub fn dataset_limit(&self) -> UploadLimit {
        UploadLimit {
            max_bytes: self.settings.max_dataset_bytes,
            what: "the dataset",
            setting: "pipelines.max_dataset_bytes",
        }
    }

    pub(crate) async fn local_copy(&self, sha256: &str) -> Result<LocalCopy, StepError> {
        if let Some(path) = self.store.blobs.local_path(sha256)
            && path.is_file()
        {
            return Ok(LocalCopy::Stored(path));
        }
        let temp = self
            .store
            .blobs
            .download_to_staging(sha256)
            .await
            .map_err(|e| StepError::Retryable(format!("fetching the dataset: {e}")))?;
        Ok(LocalCopy::Downloaded(temp))
    }
}
