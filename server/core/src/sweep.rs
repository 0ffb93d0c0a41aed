//! Deleting blobs no version references any more (see `BlobRepo` for the protocol).

use caravan_domain::records::Timestamp;

use crate::{Core, Result, STALE_RESERVATION};

impl Core {
    /// Deletes a blob if nothing references or reserves it; logs instead of failing, because
    /// a leftover blob is only wasted space and the periodic sweep retries.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_blob(&self, sha256: &str) {
        if let Err(e) = self.try_sweep_blob(sha256).await {
            tracing::warn!(sha256, error = %e, "blob sweep failed; it will be retried");
        }
    }

    async fn try_sweep_blob(&self, sha256: &str) -> Result<bool> {
        let stale =
            chrono::Utc::now() - chrono::Duration::from_std(STALE_RESERVATION).expect("fits");
        if !self
            .catalog
            .claim_orphan_blob(sha256, Timestamp::from_datetime(stale))
            .await?
        {
            return Ok(false);
        }
        if let Err(e) = self.blobs.delete(sha256).await {
            // Left claimed, the blob would refuse every upload of the same bytes until a
            // sweep succeeds; unclaimed, uploads reuse or rewrite it and a later sweep retries.
            self.catalog.unclaim_blob(sha256).await?;
            return Err(e.into());
        }
        self.catalog.forget_blob(sha256).await?;
        tracing::info!(sha256, "deleted unreferenced blob");
        Ok(true)
    }

    /// Sweeps every unreferenced blob the catalog knows of; returns how many were deleted.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_orphans(&self) -> Result<usize> {
        let mut deleted = 0;
        for sha256 in self.catalog.orphan_blobs(1000).await? {
            if self.try_sweep_blob(&sha256).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}
