//! The parts of resumable uploads, each an object of its own under `uploads/<id>/`, named by
//! its number and its SHA-256: a part sent again with other bytes never overwrites the one a
//! completion may be reading, and every replica reads what any replica wrote.

use bytes::Bytes;
use futures::{TryStreamExt, stream::BoxStream};
use object_store::{ObjectStoreExt, path::Path};
use uuid::Uuid;

use crate::{BlobStore, Result, StagedBlob};

/// Where a kind of upload keeps its parts: resumable model uploads, or MLflow's multipart
/// artifact uploads (swept by age, since they have no row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartSpace {
    Uploads,
    MlflowMultipart,
}

impl PartSpace {
    fn prefix(self) -> &'static str {
        match self {
            PartSpace::Uploads => "uploads",
            PartSpace::MlflowMultipart => "mlflow-mpu",
        }
    }
}

/// The marker of a closed upload, beside its parts (whose names start with their number).
const CLOSED: &str = "closed";

impl BlobStore {
    fn part_path(upload: Uuid, n: i64, sha256: &str) -> Path {
        Self::part_path_in(PartSpace::Uploads, upload, n, sha256)
    }

    fn part_path_in(space: PartSpace, upload: Uuid, n: i64, sha256: &str) -> Path {
        Path::from(format!(
            "{}/{}/{n:05}-{sha256}",
            space.prefix(),
            upload.simple()
        ))
    }

    /// Stores a received part (staged and hashed already).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn put_part(&self, upload: Uuid, n: i64, staged: &StagedBlob) -> Result<()> {
        self.put_part_in(PartSpace::Uploads, upload, n, staged)
            .await
    }

    pub async fn put_part_in(
        &self,
        space: PartSpace,
        upload: Uuid,
        n: i64,
        staged: &StagedBlob,
    ) -> Result<()> {
        self.put_file_at(
            &Self::part_path_in(space, upload, n, staged.sha256()),
            staged,
        )
        .await
    }

    /// The bytes of a stored part.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn read_part(
        &self,
        upload: Uuid,
        n: i64,
        sha256: &str,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
        self.read_part_in(PartSpace::Uploads, upload, n, sha256)
            .await
    }

    pub async fn read_part_in(
        &self,
        space: PartSpace,
        upload: Uuid,
        n: i64,
        sha256: &str,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let path = Self::part_path_in(space, upload, n, sha256);
        Ok(self
            .read_object(&path, &format!("part {n}"), None)
            .await?
            .stream)
    }

    /// Whether a part with these bytes was stored.
    pub async fn has_part_in(
        &self,
        space: PartSpace,
        upload: Uuid,
        n: i64,
        sha256: &str,
    ) -> Result<bool> {
        match self
            .store
            .head(&Self::part_path_in(space, upload, n, sha256))
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes one stored part; a missing one is not an error.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_part(&self, upload: Uuid, n: i64, sha256: &str) -> Result<()> {
        match self.store.delete(&Self::part_path(upload, n, sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every part stored for an upload (those sent again too); returns how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_parts(&self, upload: Uuid) -> Result<usize> {
        self.delete_parts_in(PartSpace::Uploads, upload).await
    }

    /// Deletes the parts (not the closed marker, which stays until it is swept by age).
    pub async fn delete_parts_in(&self, space: PartSpace, upload: Uuid) -> Result<usize> {
        let prefix = Self::upload_prefix(space, upload);
        let closed = Self::closed_path(space, upload);
        let paths: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_filter(|path| futures::future::ready(*path != closed))
            .try_collect()
            .await?;
        for path in &paths {
            match self.store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(paths.len())
    }
}

/// A part as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub n: i64,
    pub sha256: String,
    pub size: u64,
}

impl BlobStore {
    fn upload_prefix(space: PartSpace, upload: Uuid) -> Path {
        Path::from(format!("{}/{}", space.prefix(), upload.simple()))
    }

    fn closed_path(space: PartSpace, upload: Uuid) -> Path {
        Path::from(format!("{}/{}/{CLOSED}", space.prefix(), upload.simple()))
    }

    /// Every part stored for an upload (several for one number if it was sent again).
    pub async fn list_parts_in(&self, space: PartSpace, upload: Uuid) -> Result<Vec<StoredPart>> {
        let prefix = Self::upload_prefix(space, upload);
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&prefix)).try_collect().await?;
        Ok(metas
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?;
                let (n, sha) = name.split_once('-')?;
                Some(StoredPart {
                    n: n.parse().ok()?,
                    sha256: sha.to_owned(),
                    size: meta.size,
                })
            })
            .collect())
    }

    /// Deletes one stored part of `space`; a missing one is not an error.
    pub async fn delete_part_in(
        &self,
        space: PartSpace,
        upload: Uuid,
        n: i64,
        sha256: &str,
    ) -> Result<()> {
        let path = Self::part_path_in(space, upload, n, sha256);
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks an upload closed (completed or aborted): it takes no more parts. For uploads
    /// that have no row to say so; the marker is swept by age with the parts.
    pub async fn close_parts_in(&self, space: PartSpace, upload: Uuid) -> Result<()> {
        self.store
            .put(&Self::closed_path(space, upload), Bytes::new().into())
            .await?;
        Ok(())
    }

    pub async fn parts_closed_in(&self, space: PartSpace, upload: Uuid) -> Result<bool> {
        match self.store.head(&Self::closed_path(space, upload)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the parts in `space` last written before `cutoff`; returns how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sweep_parts_older_than(
        &self,
        space: PartSpace,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize> {
        let prefix = Path::from(space.prefix());
        let stale: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .try_filter(|meta| futures::future::ready(meta.last_modified < cutoff))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for path in &stale {
            match self.store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(stale.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::S3Options;

    async fn staged(store: &BlobStore, bytes: &'static [u8]) -> StagedBlob {
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(bytes))]);
        store.stage(body, 1 << 20).await.unwrap()
    }

    async fn read_all(store: &BlobStore, upload: Uuid, n: i64, sha: &str) -> Vec<u8> {
        let chunks: Vec<Bytes> = store
            .read_part(upload, n, sha)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        chunks.concat()
    }

    #[tokio::test]
    async fn parts_are_read_back_by_number_and_hash_and_deleted_together() {
        for url in ["memory://", "file://"] {
            let dir = tempfile::tempdir().unwrap();
            let url = if url == "file://" {
                format!("file://{}", dir.path().join("objects").display())
            } else {
                url.to_owned()
            };
            let store =
                BlobStore::open(&url, &S3Options::default(), &dir.path().join("scratch")).unwrap();
            let upload = Uuid::new_v4();
            let first = staged(&store, b"first bytes").await;
            let again = staged(&store, b"other bytes").await;
            store.put_part(upload, 1, &first).await.unwrap();
            store.put_part(upload, 1, &again).await.unwrap();
            store
                .put_part(upload, 2, &staged(&store, b"two").await)
                .await
                .unwrap();
            assert_eq!(
                read_all(&store, upload, 1, first.sha256()).await,
                b"first bytes"
            );
            assert_eq!(
                read_all(&store, upload, 1, again.sha256()).await,
                b"other bytes"
            );
            let other = Uuid::new_v4();
            store.put_part(other, 1, &first).await.unwrap();

            assert_eq!(store.delete_parts(upload).await.unwrap(), 3, "{url}");
            assert!(matches!(
                store.read_part(upload, 1, first.sha256()).await,
                Err(crate::StorageError::NotFound(_))
            ));
            assert_eq!(
                read_all(&store, other, 1, first.sha256()).await,
                b"first bytes"
            );
            assert_eq!(store.delete_parts(upload).await.unwrap(), 0);
        }
    }
}
