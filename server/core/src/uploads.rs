//! Receiving files. Every upload (a model pushed over any surface, a dataset, a peer's
//! artifact, a trainer's output) is staged here: streamed to a private file in the staging
//! directory while it is hashed, cut off at its size limit, and deleted when the `Staged`
//! value is dropped, so a refused or failed upload leaves nothing behind.

use std::{fmt::Display, path::Path};

use bytes::Bytes;
use caravan_storage::{BlobStore, S3Options, StageError};
use futures::Stream;

pub use caravan_storage::StagedBlob as Staged;

use crate::{Core, CoreError, Result};

/// What is being received, for the limit and for the words of a refusal.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimit {
    /// Largest size, in bytes.
    pub max_bytes: u64,
    /// What the client sends, as a refusal names it ("the model", "the dataset").
    pub what: &'static str,
    /// The setting that raises the limit (`onboarding.max_model_bytes`).
    pub setting: &'static str,
}

impl Core {
    /// The limit on model uploads (`onboarding.max_model_bytes`).
    pub fn model_limit(&self) -> UploadLimit {
        UploadLimit {
            max_bytes: self.limits.max_model_bytes,
            what: "the model",
            setting: "onboarding.max_model_bytes",
        }
    }

    /// Stages a body stream (a multipart part, a peer's download).
    pub async fn stage<S, E>(&self, body: S, limit: UploadLimit) -> Result<Staged>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Display,
    {
        self.stager().stage(body, limit).await
    }

    /// Stages bytes read back from the store (an upload's parts, joined): a body error is
    /// the store failing to give them back, retryable and never the client's mistake.
    pub(crate) async fn stage_stored<S, E>(&self, body: S, limit: UploadLimit) -> Result<Staged>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Display,
    {
        self.stage(body, limit).await.map_err(|e| match e {
            CoreError::Invalid(reason) => CoreError::Unavailable(reason.into()),
            other => other,
        })
    }

    /// Stages a file this process wrote (a trainer's output, a scored dataset).
    pub async fn stage_file(&self, path: &Path, limit: UploadLimit) -> Result<Staged> {
        self.stager().stage_file(path, limit).await
    }

    /// Where this server stages uploads.
    pub fn stager(&self) -> Stager {
        Stager {
            blobs: self.blobs.clone(),
        }
    }
}

/// Where uploads are staged: the server's blob store's staging directory, or a runner's own
/// scratch directory (a runner keeps no blobs).
#[derive(Clone)]
pub struct Stager {
    blobs: BlobStore,
}

impl Stager {
    /// Staging only, in this process's own directory under `dir` (swept of what stopped
    /// processes left there).
    pub fn scratch(dir: &Path) -> Result<Self> {
        let blobs = BlobStore::open("memory://", &S3Options::default(), dir)?;
        Ok(Self { blobs })
    }

    /// Stages a body stream, cut off at the limit.
    #[tracing::instrument(skip_all)]
    pub async fn stage<S, E>(&self, body: S, limit: UploadLimit) -> Result<Staged>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Display,
    {
        let started = std::time::Instant::now();
        let staged = self
            .blobs
            .stage(body, limit.max_bytes)
            .await
            .map_err(|e| refusal(e, limit))?;
        let stage_ms = started.elapsed().as_millis() as u64;
        tracing::info!(bytes = staged.size(), stage_ms, "upload staged");
        Ok(staged)
    }

    /// Stages a copy of a local file (a trainer's output, a runner's `--model`).
    #[tracing::instrument(skip_all)]
    pub async fn stage_file(&self, path: &Path, limit: UploadLimit) -> Result<Staged> {
        self.blobs
            .stage_file(path, limit.max_bytes)
            .await
            .map_err(|e| refusal(e, limit))
    }
}

fn refusal(e: StageError, limit: UploadLimit) -> CoreError {
    match e {
        StageError::TooLarge { limit: bytes } => CoreError::TooLarge(format!(
            "{} is larger than the limit of {bytes} bytes ({})",
            limit.what, limit.setting
        )),
        StageError::Body(m) => CoreError::Invalid(format!("the upload was cut short: {m}")),
        StageError::Io(e) => CoreError::internal(e),
    }
}
