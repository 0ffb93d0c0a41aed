//! Reading blobs, whole or by byte range, as a stream.

use std::{io::SeekFrom, ops::Range};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStoreExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::{BlobStore, Result, StorageError};

/// Local files are read in 1 MiB chunks (object_store's own stream reads 8 KiB at a time,
/// one blocking task each, which caps a download far below disk speed).
const READ_CHUNK: usize = 1 << 20;

/// A blob being read.
pub struct BlobRead {
    /// Size of the whole blob.
    pub size: u64,
    /// The bytes this read returns.
    pub range: Range<u64>,
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

impl BlobStore {
    /// Opens a blob for reading, optionally only `range` (end exclusive, clamped to the size).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn read(&self, sha256: &str, range: Option<Range<u64>>) -> Result<BlobRead> {
        self.read_object(&Self::blob_path(sha256), sha256, range)
            .await
    }

    /// Opens any object of the store (`name` is what a `NotFound` names).
    pub(crate) async fn read_object(
        &self,
        path: &object_store::path::Path,
        name: &str,
        range: Option<Range<u64>>,
    ) -> Result<BlobRead> {
        let meta = match self.store.head(path).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StorageError::NotFound(name.into()));
            }
            Err(e) => return Err(e.into()),
        };
        let size = meta.size;
        let range = match range {
            Some(r) if r.start >= size || r.start >= r.end => return Err(StorageError::BadRange),
            Some(r) => r.start..r.end.min(size),
            None => 0..size,
        };
        if range.is_empty() {
            return Ok(BlobRead {
                size,
                range,
                stream: futures::stream::empty().boxed(),
            });
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.clone())),
            ..Default::default()
        };
        let result = self.store.get_opts(path, options).await?;
        let len = range.end - range.start;
        let stream = match result.payload {
            GetResultPayload::File(file, _) => {
                let mut file = tokio::fs::File::from_std(file);
                file.seek(SeekFrom::Start(range.start)).await?;
                ReaderStream::with_capacity(file.take(len), READ_CHUNK).boxed()
            }
            GetResultPayload::Stream(s) => s.map_err(std::io::Error::other).boxed(),
        };
        Ok(BlobRead {
            size,
            range,
            stream,
        })
    }
}
