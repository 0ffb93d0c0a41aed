//! Streaming an upload to a local staging file while hashing it.

use std::{fmt::Display, path::Path};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::BlobStore;

/// Why an upload could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The upload passed the size limit; it was cut off there.
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The client's body stream failed (disconnect, malformed multipart).
    #[error("reading the upload failed: {0}")]
    Body(String),
    #[error("staging I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// An upload on local disk with its SHA-256 and size. The file is deleted when this is dropped,
/// so a refused or failed upload leaves nothing behind.
#[derive(Debug)]
pub struct StagedBlob {
    file: tempfile::TempPath,
    sha256: String,
    size: u64,
    /// An object of the store that holds exactly these bytes (an upload S3 assembled).
    held_at: Option<object_store::path::Path>,
}

impl StagedBlob {
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Lower-case hex SHA-256 of the content.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Says that the store's object at `path` holds exactly these bytes (the caller read them
    /// from it), so that storing them is a copy inside the store rather than an upload.
    pub fn held_at(mut self, path: object_store::path::Path) -> Self {
        self.held_at = Some(path);
        self
    }

    pub(crate) fn held_in_store(&self) -> Option<&object_store::path::Path> {
        self.held_at.as_ref()
    }
}

impl BlobStore {
    /// Streams `body` to a staging file, hashing as it goes; refuses it as soon as it passes
    /// `max_bytes`. Memory use is one write buffer, whatever the upload's size.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn stage<S, E>(&self, mut body: S, max_bytes: u64) -> Result<StagedBlob, StageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Display,
    {
        let temp = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(&self.staging_dir)?
            .into_temp_path();
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&temp)
            .await?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| StageError::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(StageError::TooLarge { limit: max_bytes });
            }
            hasher.update(&chunk);
            writer.write_all(&chunk).await?;
        }
        // No fsync: the staging file is scratch space, and a crash loses the upload either way.
        writer.flush().await?;
        Ok(StagedBlob {
            file: temp,
            sha256: hex::encode(hasher.finalize()),
            size,
            held_at: None,
        })
    }
}

impl BlobStore {
    /// Stages a local file (a trainer's output, say) the way an upload is staged.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn stage_file(&self, path: &Path, max_bytes: u64) -> Result<StagedBlob, StageError> {
        let file = tokio::fs::File::open(path).await?;
        self.stage(tokio_util::io::ReaderStream::new(file), max_bytes)
            .await
    }
}
