//! Storing bytes and recording them: the one protocol every write of a blob follows, whatever
//! the surface (a push, a peer's import, a dataset version, a trainer's output). The blob is
//! reserved first (so a concurrent sweep keeps it), put unless the store has it already, and
//! only then is its row written; if anything fails, the reservation is released and the blob
//! swept if nothing references it, so a failure leaves no orphan behind.

use std::{future::Future, time::Duration};

use caravan_domain::ConflictKind;

use crate::{Core, CoreError, Result, uploads::Staged};

impl Core {
    /// Stores `staged`, then runs `record` (the catalog write that references it).
    #[tracing::instrument(skip_all)]
    pub(crate) async fn store_then_record<T, Fut>(
        &self,
        staged: &Staged,
        record: impl FnOnce() -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let sha256 = staged.sha256();
        self.reserve_blob(sha256, staged.size()).await?;
        let mut reservation = Reservation {
            core: Some(self.clone()),
            sha256,
        };
        let stored = match self.blobs.exists(sha256).await {
            Ok(true) => Ok(()),
            Ok(false) => self.blobs.put_staged(staged).await,
            Err(e) => Err(e),
        };
        // From here on this call settles the reservation itself. (A future dropped inside
        // `record` leaves it held: whether the write committed is unknown then, and a release
        // too many could free another writer's hold. A held reservation only delays a sweep.)
        reservation.core = None;
        let recorded = match stored {
            Ok(()) => record().await,
            Err(e) => Err(e.into()),
        };
        if recorded.is_err() {
            if let Err(e) = self.catalog.release_blob(sha256).await {
                tracing::warn!(sha256, error = %e, "could not release a blob reservation");
            }
            self.sweep_blob(sha256).await;
        }
        recorded
    }

    /// Reserves a blob for this write, waiting while a sweep finishes deleting it.
    async fn reserve_blob(&self, sha256: &str, size: u64) -> Result<()> {
        for _ in 0..100 {
            if self.catalog.reserve_blob(sha256, size as i64).await? {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(CoreError::conflict(
            ConflictKind::Contended,
            "the same bytes are being deleted right now; retry the upload",
        ))
    }
}

/// A blob reservation taken before the blob is stored: released if the write's future is
/// dropped before it records (a client that went away, a sync pass cut short), so that the
/// blob can be swept if nothing else keeps it.
struct Reservation<'a> {
    core: Option<Core>,
    sha256: &'a str,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let (Some(core), Ok(runtime)) = (self.core.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let sha256 = self.sha256.to_owned();
        runtime.spawn(async move {
            match core.catalog.release_blob(&sha256).await {
                Ok(()) => core.sweep_blob(&sha256).await,
                Err(e) => {
                    tracing::warn!(sha256, error = %e, "could not release a blob reservation")
                }
            }
        });
    }
}
