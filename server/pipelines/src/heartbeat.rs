//! A run's heartbeat: while a worker runs a step it renews the run's lease (so no other
//! replica takes it over) and notices, within a second, that someone asked to cancel it or
//! that another worker took the run over (its lease ran out while this one was stalled).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use caravan_domain::records::Timestamp;

use crate::Pipelines;

/// How often a running step looks for a cancellation.
const CANCEL_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps a run's lease alive and notices a cancellation, until dropped.
pub(crate) struct Heartbeat {
    cancelled: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    pub(crate) fn start(
        p: &Pipelines,
        run: uuid::Uuid,
        attempt: i64,
        state: serde_json::Value,
    ) -> Heartbeat {
        let cancelled = Arc::new(AtomicBool::new(false));
        let (flag, catalog, lease) = (cancelled.clone(), p.store.catalog.clone(), p.settings.lease);
        // A cancellation is noticed within a second; the lease is renewed every third of it.
        let task = tokio::spawn(async move {
            let mut renewed = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(CANCEL_CHECK.min(lease / 3)).await;
                let alive = if renewed.elapsed() >= lease / 3 {
                    renewed = tokio::time::Instant::now();
                    catalog
                        .save_run(run, attempt, &state, Timestamp::after(lease))
                        .await
                } else {
                    catalog
                        .run(run)
                        .await
                        .map(|r| r.is_some_and(|r| !r.cancel_requested))
                };
                match alive {
                    Ok(true) => {}
                    Ok(false) => flag.store(true, Ordering::SeqCst),
                    Err(e) => tracing::warn!(error = %e, %run, "could not check on a run"),
                }
            }
        });
        Heartbeat { cancelled, task }
    }

    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
