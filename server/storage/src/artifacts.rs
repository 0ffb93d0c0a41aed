//! MLflow artifacts (the files of runs and logged models) under `mlflow-artifacts/`, by the
//! path MLflow names them with. Paths are checked by the caller (the core) before they reach
//! the store; the store only adds its prefix.

use futures::TryStreamExt;
use object_store::{ObjectStoreExt, path::Path};

use crate::{BlobRead, BlobStore, Result, StagedBlob, StorageError};

/// One entry of a listing: a file with its size, or a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactObject {
    /// Relative to the listed directory.
    pub name: String,
    /// `None` for a directory.
    pub size: Option<u64>,
}

impl BlobStore {
    fn artifact_path(path: &str) -> Path {
        Path::from(format!("mlflow-artifacts/{path}"))
    }

    /// Stores (or replaces) an artifact. A file cannot take the path of a directory or sit
    /// below a file (`Conflict`): on a local store neither can exist, so no store holds one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn put_artifact(&self, path: &str, staged: &StagedBlob) -> Result<()> {
        let at = Self::artifact_path(path);
        // Ancestors first: listing below a file is an error on a local store.
        for (end, _) in path.match_indices('/') {
            let parent = &path[..end];
            match self.store.head(&Self::artifact_path(parent)).await {
                Ok(_) => return Err(StorageError::Conflict(format!("{parent} is a file"))),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let below = self.store.list_with_delimiter(Some(&at)).await?;
        if !below.objects.is_empty() || !below.common_prefixes.is_empty() {
            return Err(StorageError::Conflict(format!("{path} is a directory")));
        }
        // A local store links the staged file into place, which never replaces a file.
        match self.store.delete(&at).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.put_file_at(&at, staged).await
    }

    /// Opens an artifact for reading.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn read_artifact(&self, path: &str) -> Result<BlobRead> {
        self.read_object(&Self::artifact_path(path), path, None)
            .await
    }

    /// Opens `range` of an artifact, which must lie within it.
    pub async fn read_artifact_range(
        &self,
        path: &str,
        range: std::ops::Range<u64>,
    ) -> Result<BlobRead> {
        let wanted = range.end - range.start;
        let read = self
            .read_object(&Self::artifact_path(path), path, Some(range))
            .await?;
        if read.range.end - read.range.start != wanted {
            return Err(StorageError::BadRange);
        }
        Ok(read)
    }

    /// The whole of a small artifact, refused past `max` bytes.
    pub async fn artifact_bytes(&self, path: &str, max: u64) -> Result<Vec<u8>> {
        let read = self.read_artifact(path).await?;
        if read.size > max {
            return Err(StorageError::TooLarge(read.size));
        }
        let chunks: Vec<bytes::Bytes> = read.stream.try_collect().await?;
        Ok(chunks.concat())
    }

    /// The files and directories directly under `dir`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactObject>> {
        let prefix = Self::artifact_path(dir);
        let listing = self.store.list_with_delimiter(Some(&prefix)).await?;
        // Path parts are percent-encoded where a character is not allowed raw.
        let name = |p: &Path| {
            let raw = p.filename().unwrap_or_default();
            percent_encoding::percent_decode_str(raw)
                .decode_utf8_lossy()
                .into_owned()
        };
        let mut entries: Vec<ArtifactObject> = listing
            .common_prefixes
            .iter()
            .map(|p| ArtifactObject {
                name: name(p),
                size: None,
            })
            .chain(listing.objects.iter().map(|o| ArtifactObject {
                name: name(&o.location),
                size: Some(o.size),
            }))
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}
