//! Resumable uploads assembled by S3 itself. Where the store is S3 and the parts are large
//! enough for it, an upload opens an S3 multipart upload for a key of its own; each part goes
//! straight into it (`UploadPart`), completing is `CompleteMultipartUpload`, and the validated
//! file becomes its blob by a server-side copy, so the file never goes up twice. The multipart
//! upload's id and each part's ETag live with the upload in the catalog, so any replica takes
//! any part. Other stores keep one object per part (`parts.rs`).

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::{
    MultipartId, PutPayload, aws::AmazonS3, multipart::MultipartStore, multipart::PartId,
    path::Path,
};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::{BlobStore, Result, StagedBlob, StorageError};

/// S3's smallest part (every part but the last): smaller parts use one object per part.
pub const MIN_STORE_PART: u64 = 5 << 20;
/// Parts sent to S3 at once by this process: `object_store` holds each one in memory while it
/// goes up, so this bounds the memory that uploads take.
const PARTS_IN_FLIGHT: usize = 2;

/// The S3 bucket under the store, where it has one, with the key prefix the store adds.
#[derive(Clone)]
pub(crate) struct S3Multipart {
    s3: Arc<AmazonS3>,
    prefix: String,
    in_flight: Arc<Semaphore>,
}

impl S3Multipart {
    pub(crate) fn new(s3: Arc<AmazonS3>, prefix: &str) -> Self {
        Self {
            s3,
            prefix: prefix.to_owned(),
            in_flight: Arc::new(Semaphore::new(PARTS_IN_FLIGHT)),
        }
    }

    /// The bucket key of a store path.
    fn key(&self, path: &Path) -> Path {
        if self.prefix.is_empty() {
            path.clone()
        } else {
            Path::from(format!("{}/{}", self.prefix, path.as_ref()))
        }
    }
}

impl BlobStore {
    /// Where an upload's file is assembled, inside its own prefix (deleted with its parts).
    fn assembly_path(upload: Uuid) -> Path {
        Path::from(format!("uploads/{}/assembled", upload.simple()))
    }

    fn s3_multipart(&self) -> Result<&S3Multipart> {
        self.multipart
            .as_ref()
            .ok_or_else(|| StorageError::Config("this store assembles no uploads itself".into()))
    }

    /// Opens the store's own multipart upload for an upload with parts of `part_size`; `None`
    /// where the store has none (not S3) or the parts are smaller than S3 takes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn begin_assembly(&self, upload: Uuid, part_size: u64) -> Result<Option<String>> {
        let Some(s3) = &self.multipart else {
            return Ok(None);
        };
        if part_size < MIN_STORE_PART {
            return Ok(None);
        }
        let key = s3.key(&Self::assembly_path(upload));
        Ok(Some(s3.s3.create_multipart(&key).await?))
    }

    /// Sends part `n` (from 1) into the store's multipart upload; answers the part's ETag.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn put_assembly_part(
        &self,
        upload: Uuid,
        store_upload: &str,
        n: i64,
        staged: &StagedBlob,
    ) -> Result<String> {
        let s3 = self.s3_multipart()?;
        let _turn = s3
            .in_flight
            .acquire()
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let bytes = Bytes::from(tokio::fs::read(staged.path()).await?);
        let key = s3.key(&Self::assembly_path(upload));
        let index = usize::try_from(n - 1).map_err(|e| std::io::Error::other(e.to_string()))?;
        let id: MultipartId = store_upload.to_owned();
        match s3
            .s3
            .put_part(&key, &id, index, PutPayload::from(bytes))
            .await
        {
            Ok(part) => Ok(part.content_id),
            // S3 consumed the multipart upload: an earlier completion assembled the parts.
            Err(object_store::Error::NotFound { .. }) => Err(StorageError::Conflict(
                "the upload's parts are assembled already: complete it".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Completes the store's multipart upload from the parts' ETags, in order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn complete_assembly(
        &self,
        upload: Uuid,
        store_upload: &str,
        etags: Vec<String>,
    ) -> Result<()> {
        let s3 = self.s3_multipart()?;
        let key = s3.key(&Self::assembly_path(upload));
        let parts = etags
            .into_iter()
            .map(|content_id| PartId { content_id })
            .collect();
        s3.s3
            .complete_multipart(&key, &store_upload.to_owned(), parts)
            .await?;
        Ok(())
    }

    /// Whether the store has assembled the upload already (an earlier completion that
    /// failed later, after S3 had consumed its multipart upload).
    pub async fn is_assembled(&self, upload: Uuid) -> Result<bool> {
        use object_store::ObjectStoreExt;
        match self.store.head(&Self::assembly_path(upload)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The assembled file's bytes.
    pub async fn read_assembly(
        &self,
        upload: Uuid,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let path = Self::assembly_path(upload);
        Ok(self
            .read_object(&path, "the assembled upload", None)
            .await?
            .stream)
    }

    /// Where the assembled file is, for a staged copy of it (see [`StagedBlob::held_at`]).
    pub fn assembly_location(upload: Uuid) -> Path {
        Self::assembly_path(upload)
    }

    /// Drops the store's multipart upload (its parts with it); one already gone is fine.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn abort_assembly(&self, upload: Uuid, store_upload: &str) -> Result<()> {
        let s3 = self.s3_multipart()?;
        let key = s3.key(&Self::assembly_path(upload));
        match s3.s3.abort_multipart(&key, &store_upload.to_owned()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
