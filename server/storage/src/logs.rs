//! Logs of pipeline steps: plain objects under `logs/`, outside the content-addressed blobs
//! (the orphan sweep lists only `blobs/`).

use object_store::{ObjectStoreExt, PutPayload, path::Path};

use crate::{BlobStore, Result};

impl BlobStore {
    /// Stores a log under `logs/<key>`, replacing an earlier one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn put_log(&self, key: &str, text: Vec<u8>) -> Result<()> {
        let path = Path::from(format!("logs/{key}"));
        self.store.put(&path, PutPayload::from(text)).await?;
        Ok(())
    }

    /// The log stored under `logs/<key>`, or `None`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_log(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = Path::from(format!("logs/{key}"));
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
