//! Keeping replicas that share a PostgreSQL database in step at once: what one changes and
//! others cache (a model's aliases and versions, credentials) is announced after it commits,
//! and every replica drops what it cached of it. Without a feed (SQLite, one process) the
//! short cache lifetimes are all there is, and all that is needed.

use caravan_domain::records::{Change, WorkQueue};
use tokio::sync::Notify;

use crate::Core;

/// The idle workers of this process, by queue.
#[derive(Default)]
pub(crate) struct Wakeups {
    runs: Notify,
    sync: Notify,
}

impl Wakeups {
    fn of(&self, queue: WorkQueue) -> &Notify {
        match queue {
            WorkQueue::Runs => &self.runs,
            WorkQueue::Sync => &self.sync,
        }
    }
}

impl Core {
    /// Wakes an idle worker of `queue` here and announces the work to the other replicas,
    /// so whichever has a free worker claims it now rather than at its next poll.
    pub fn wake(&self, queue: WorkQueue) {
        self.wakeups.of(queue).notify_one();
        self.announce(Change::Work { queue });
    }

    /// Resolves when work was queued on `queue` (here or on another replica) since an idle
    /// worker last looked.
    pub async fn woken(&self, queue: WorkQueue) {
        self.wakeups.of(queue).notified().await;
    }

    /// Announces a committed change to the other replicas (in the background: the caller's
    /// answer does not wait, and a failed announcement leaves only the caches' lifetimes).
    pub(crate) fn announce(&self, change: Change) {
        let catalog = self.catalog.clone();
        tokio::spawn(async move {
            if let Err(e) = catalog.announce(&change).await {
                tracing::warn!(error = %e, ?change, "could not announce a change to other replicas");
            }
        });
    }

    /// Applies the changes other replicas announce until the process ends; false where the
    /// catalog has no feed.
    pub async fn follow_changes(&self) -> crate::Result<bool> {
        let Some(mut changes) = self.catalog.listen().await? else {
            return Ok(false);
        };
        let core = self.clone();
        tokio::spawn(async move {
            while let Some(change) = changes.recv().await {
                core.apply_change(change).await;
            }
        });
        Ok(true)
    }

    async fn apply_change(&self, change: Change) {
        metrics::counter!("caravan_changes_received_total").increment(1);
        let (model, credentials) = match &change {
            Change::Model { name } => (Some(name.as_str()), false),
            Change::Credentials => (None, true),
            Change::Resync => (None, true),
            Change::Work { queue } => {
                self.wakeups.of(*queue).notify_one();
                return;
            }
        };
        if credentials {
            self.auth_cache.clear();
        }
        if matches!(change, Change::Resync) {
            // Work announced while the connection was down is found by this wake or the poll.
            self.wakeups.runs.notify_one();
            self.wakeups.sync.notify_one();
        }
        if let Some(serving) = &self.serving {
            match (&change, model) {
                (_, Some(name)) => serving.invalidate(name),
                (Change::Resync, None) => serving.invalidate_all(),
                _ => return,
            }
            // Long polls on aliases recheck, and the pins follow the aliases.
            self.aliases_changed();
            if let Err(e) = self.refresh_pins().await {
                tracing::warn!(error = %e, "could not refresh the pinned versions");
            }
        }
    }
}
