//! Caravan's blob store: content-addressed objects (`blobs/sha256/ab/cdef...`) in any
//! `object_store` backend (local disk by default, S3 in production, memory in tests).
//!
//! An upload is first streamed to a local staging file while it is hashed and its size
//! checked, so that nothing of a refused upload reaches the store and a whole upload is never
//! held in memory; it is then copied to its content address.

mod artifacts;
mod assembly;
mod logs;
mod open;
mod parts;
mod read;
mod scratch;
mod staging;

use std::{path::PathBuf, sync::Arc};

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart, path::Path};
use tokio::io::AsyncReadExt;

pub use artifacts::ArtifactObject;
pub use assembly::MIN_STORE_PART;
pub use open::S3Options;
pub use parts::{PartSpace, StoredPart};
pub use read::BlobRead;
pub use scratch::{ScratchDir, Swept};
pub use staging::{StageError, StagedBlob};

/// Errors of the blob store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("requested range is not satisfiable")]
    BadRange,
    #[error("the object holds {0} bytes, more than this read takes")]
    TooLarge(u64),
    /// A write the store's layout forbids (a file where a directory is), in words for the client.
    #[error("{0}")]
    Conflict(String),
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("staging I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl StorageError {
    /// The store did not answer, or refused for now (down, throttling, a reset connection):
    /// a retry may pass. A missing object, a bad range or local disk trouble is not that.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StorageError::Store(e) if !matches!(e, object_store::Error::NotFound { .. }))
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Objects larger than this go up in parts (S3 needs parts of at least 5 MiB).
const SINGLE_PUT_MAX: u64 = 16 << 20;
const PART_SIZE: usize = 16 << 20;
/// The largest object S3 copies in one request.
const COPY_MAX: u64 = 5 << 30;

/// The content-addressed blob store.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    staging_dir: PathBuf,
    /// This process's claim on `staging_dir` (none when a caller chose the directory).
    _scratch: Option<Arc<ScratchDir>>,
    description: String,
    /// The directory of a local-disk store, where staged files are hard-linked into place
    /// instead of copied.
    local_root: Option<PathBuf>,
    /// The bucket of an S3 store, which assembles resumable uploads itself.
    multipart: Option<assembly::S3Multipart>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("store", &self.description)
            .finish()
    }
}

impl BlobStore {
    /// Wraps an object store; staging files go to `staging_dir`.
    pub fn new(store: Arc<dyn ObjectStore>, staging_dir: PathBuf, description: String) -> Self {
        Self {
            store,
            staging_dir,
            _scratch: None,
            description,
            local_root: None,
            multipart: None,
        }
    }

    /// What the store is (for logs): `file:///...`, `s3://bucket/prefix` or `memory`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Where a blob with this SHA-256 (lower-case hex) lives.
    pub fn blob_path(sha256: &str) -> Path {
        Path::from(format!("blobs/sha256/{}/{}", &sha256[..2], &sha256[2..]))
    }

    /// Copies a staged upload to its content address (in parts when large).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn put_staged(&self, staged: &StagedBlob) -> Result<()> {
        self.put_file_at(&Self::blob_path(staged.sha256()), staged)
            .await
    }

    /// Copies a staged file to `path` (hard-linked on a local store, in parts when large).
    pub(crate) async fn put_file_at(&self, path: &Path, staged: &StagedBlob) -> Result<()> {
        if let Some(root) = &self.local_root
            && link_into_place(staged.path(), &root.join(path.as_ref())).await?
        {
            return Ok(());
        }
        if let Some(source) = staged.held_in_store()
            && staged.size() <= COPY_MAX
        {
            self.store.copy(source, path).await?;
            return Ok(());
        }
        let mut file = tokio::fs::File::open(staged.path()).await?;
        if staged.size() <= SINGLE_PUT_MAX {
            let mut buf = Vec::with_capacity(staged.size() as usize);
            file.read_to_end(&mut buf).await?;
            self.store.put(path, PutPayload::from(buf)).await?;
            return Ok(());
        }
        let upload = self.store.put_multipart(path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; PART_SIZE];
        let sent: Result<()> = async {
            loop {
                let n = read_full(&mut file, &mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                writer.wait_for_capacity(2).await?;
                writer.put(Bytes::copy_from_slice(&buf[..n]));
            }
        }
        .await;
        match sent {
            Ok(()) => writer.finish().await.map(|_| ()).map_err(Into::into),
            Err(e) => {
                // Parts already sent would stay in the bucket (and on its bill) as an unfinished
                // upload: abort it. If the store is unreachable, the bucket's lifecycle rule for
                // incomplete uploads is what removes them.
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "could not abort an unfinished multipart upload");
                }
                Err(e)
            }
        }
    }

    /// The file of a blob, when the store is a local directory (serving loads it in place).
    pub fn local_path(&self, sha256: &str) -> Option<PathBuf> {
        self.local_root
            .as_ref()
            .map(|root| root.join(Self::blob_path(sha256).as_ref()))
    }

    /// Copies a blob into a staging file (deleted when the returned path is dropped), for
    /// readers that need a local file, such as ONNX Runtime.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn download_to_staging(&self, sha256: &str) -> Result<tempfile::TempPath> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let temp = tempfile::Builder::new()
            .prefix("download-")
            .tempfile_in(&self.staging_dir)?
            .into_temp_path();
        let mut read = self.read(sha256, None).await?;
        let mut file =
            tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::create(&temp).await?);
        while let Some(chunk) = read.stream.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        Ok(temp)
    }

    /// Does a blob exist?
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn exists(&self, sha256: &str) -> Result<bool> {
        match self.store.head(&Self::blob_path(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a blob; deleting a missing blob is not an error.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete(&self, sha256: &str) -> Result<()> {
        match self.store.delete(&Self::blob_path(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Lists the SHA-256 of every stored blob (for consistency checks and sweeps).
    pub fn list(&self) -> BoxStream<'static, Result<String>> {
        use futures::StreamExt;
        self.store
            .list(Some(&Path::from("blobs/sha256")))
            .map(|meta| {
                let meta = meta?;
                let parts: Vec<_> = meta.location.parts().collect();
                let n = parts.len();
                Ok(format!(
                    "{}{}",
                    parts[n - 2].as_ref(),
                    parts[n - 1].as_ref()
                ))
            })
            .boxed()
    }

    /// Checks that the store answers (a missing probe object is fine, an error is not).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping(&self) -> Result<()> {
        match self
            .store
            .head(&Path::from("caravan-readiness-probe"))
            .await
        {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Reads until `buf` is full or the file ends; returns the number of bytes read.
async fn read_full(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Hard-links a staged file to its place in a local store: no copy, and the blob appears
/// whole at once. `false` when the two are on different file systems (the caller copies).
async fn link_into_place(staged: &std::path::Path, dest: &std::path::Path) -> Result<bool> {
    if let Some(dir) = dest.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    match tokio::fs::hard_link(staged, dest).await {
        Ok(()) => Ok(true),
        // Content-addressed: an existing file already holds these bytes.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_does_not_answer_is_unavailable_and_a_missing_object_is_not() {
        let down = StorageError::Store(object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        });
        assert!(down.is_unavailable());
        let missing = StorageError::Store(object_store::Error::NotFound {
            path: "blobs/x".into(),
            source: "404".into(),
        });
        assert!(!missing.is_unavailable());
        assert!(!StorageError::BadRange.is_unavailable());
        assert!(!StorageError::Io(std::io::Error::other("disk full")).is_unavailable());
    }
}
