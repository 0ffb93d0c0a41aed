//! The sync worker: claims due subscriptions (one replica at a time), pulls each peer's
//! changes since the subscription's cursor, verifies every revision's manifest signature with
//! the key pinned for the peer and every artifact's bytes against the manifest, then imports
//! through core, which validates the model again. A peer that sends something unacceptable
//! has that item refused and logged, and the pass goes on; a transport failure ends the pass
//! without moving the cursor, to be retried with backoff.

use std::time::Duration;

use futures::stream::{self, StreamExt};

use caravan_core::{Core, CoreError, RemoteVersion};
use caravan_domain::records::{PeerRecord, SubscriptionRecord, SyncOutcome, Timestamp};
use uuid::Uuid;

use crate::{
    client::{ClientError, PeerClient},
    manifest::{self, ManifestError},
    wire::{MODEL_ARTIFACT, Solution},
};

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How often to look for due subscriptions.
    pub poll: Duration,
    /// How long a claimed subscription stays with this replica.
    pub lease: Duration,
    pub max_json_bytes: usize,
    pub max_artifact_bytes: u64,
    /// Solutions imported at once in a pass (revisions of one solution stay in order).
    pub concurrency: usize,
    /// Where peers may be (the client's resolver applies it to names; this, to IP hosts).
    pub outbound: caravan_outbound::OutboundPolicy,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub imported: i64,
    pub withdrawn: i64,
    /// Items refused, with why.
    pub refused: Vec<String>,
    pub cursor: i64,
}

/// Why a pass stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Peer(ClientError),
    #[error("{0}")]
    Local(CoreError),
}

/// An item refused from a peer (the pass continues).
pub(crate) struct Refusal(pub(crate) String);

impl From<ManifestError> for Refusal {
    fn from(e: ManifestError) -> Self {
        Refusal(e.to_string())
    }
}

/// Sorts errors: what the peer got wrong is refused; the rest stops the pass.
pub(crate) fn classify_client(e: ClientError) -> Result<Refusal, SyncError> {
    match e {
        ClientError::Refused(m) => Ok(Refusal(m)),
        ClientError::Status(404, m) => Ok(Refusal(format!("gone: {m}"))),
        other => Err(SyncError::Peer(other)),
    }
}

pub(crate) fn classify_core(e: CoreError) -> Result<Refusal, SyncError> {
    match e {
        CoreError::Refused(m) | CoreError::Invalid(m) => Ok(Refusal(m)),
        other => Err(SyncError::Local(other)),
    }
}

/// One pass over a subscription's changes.
pub async fn sync_once(
    core: &Core,
    client: &PeerClient,
    peer: &PeerRecord,
    subscription: &SubscriptionRecord,
    settings: &SyncSettings,
) -> Result<SyncReport, SyncError> {
    // An Acumos gateway has no change feed: its whole listing, every pass (revisions already
    // here are skipped by id).
    let changes = if peer.legacy_acumos {
        let solutions = client
            .solutions(&subscription.catalog_id)
            .await
            .map_err(SyncError::Peer)?;
        crate::wire::Changes {
            solutions,
            withdrawn: Vec::new(),
            cursor: subscription.cursor,
        }
    } else {
        client
            .changes(&subscription.catalog_id, subscription.cursor)
            .await
            .map_err(SyncError::Peer)?
    };
    let mut report = SyncReport {
        cursor: changes.cursor,
        ..Default::default()
    };
    // Solutions are independent: fetching, verifying and validating several at once hides the
    // round trips and the validation child's start-up. A local error stops the pass.
    // (The futures are built up front: a lazy iterator adapter here trips the compiler's
    // higher-ranked `Send` check on the spawned worker.)
    let mut jobs = Vec::new();
    for solution in &changes.solutions {
        if subscription.models.is_empty() || subscription.models.contains(&solution.name) {
            jobs.push(sync_solution(
                core,
                client,
                peer,
                subscription,
                solution,
                settings,
            ));
        }
    }
    let mut passes = stream::iter(jobs).buffer_unordered(settings.concurrency.max(1));
    while let Some(outcome) = passes.next().await {
        let (imported, refused) = outcome?;
        report.imported += imported;
        report.refused.extend(refused);
    }
    drop(passes);
    for id in &changes.withdrawn {
        if core
            .withdraw_imported(peer, subscription, *id)
            .await
            .map_err(SyncError::Local)?
        {
            report.withdrawn += 1;
        }
    }
    Ok(report)
}

/// Imports a solution's revisions that are not here yet, oldest first: how many were imported,
/// and what was refused.
async fn sync_solution(
    core: &Core,
    client: &PeerClient,
    peer: &PeerRecord,
    subscription: &SubscriptionRecord,
    solution: &Solution,
    settings: &SyncSettings,
) -> Result<(i64, Vec<String>), SyncError> {
    let detail = match client.solution(solution.solution_id).await {
        Ok(detail) => detail,
        Err(e) => {
            let Refusal(why) = classify_client(e)?;
            return Ok((0, vec![format!("solution {}: {why}", solution.solution_id)]));
        }
    };
    let mut revisions = detail.revisions.clone().unwrap_or_default();
    revisions.sort_by_key(|r| r.version.parse::<i64>().unwrap_or(i64::MAX));
    let (mut imported, mut refused) = (0, Vec::new());
    for revision in revisions {
        if core
            .imported_revision(peer, revision.revision_id)
            .await
            .map_err(SyncError::Local)?
        {
            continue;
        }
        let id = revision.revision_id;
        match import_revision(core, client, peer, subscription, &detail, id, settings).await? {
            Ok(()) => imported += 1,
            Err(Refusal(why)) => {
                tracing::warn!(peer = %peer.name, solution = %detail.name, revision = %id, %why, "refused from peer");
                refused.push(format!(
                    "{} revision {}: {why}",
                    detail.name, revision.version
                ));
            }
        }
    }
    Ok((imported, refused))
}

/// Fetches, verifies and imports one revision. The outer error stops the pass; the inner one
/// refuses this revision only.
async fn import_revision(
    core: &Core,
    client: &PeerClient,
    peer: &PeerRecord,
    subscription: &SubscriptionRecord,
    solution: &Solution,
    revision_id: Uuid,
    settings: &SyncSettings,
) -> Result<Result<(), Refusal>, SyncError> {
    let revision = match client.revision(solution.solution_id, revision_id).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(classify_client(e)?)),
    };
    if revision.manifest.is_none() && peer.legacy_acumos {
        return crate::legacy::import_unverified(
            core,
            client,
            peer,
            subscription,
            solution,
            &revision,
            settings,
        )
        .await;
    }
    let Some(signed) = revision.manifest.clone() else {
        return Ok(Err(Refusal(
            "the revision carries no signed manifest".into(),
        )));
    };
    let manifest = match manifest::verify(&peer.signing_key, &signed) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e.into())),
    };
    if manifest.solution_id != solution.solution_id
        || manifest.revision_id != revision_id
        || manifest.solution_name != solution.name
    {
        return Ok(Err(Refusal(
            "the manifest names another solution, name or revision".into(),
        )));
    }
    let Some(listed) = manifest
        .artifacts
        .iter()
        .find(|a| a.artifact_type_code == MODEL_ARTIFACT)
    else {
        return Ok(Err(Refusal(
            "the manifest lists no ONNX artifact (type MI)".into(),
        )));
    };
    if listed.size > settings.max_artifact_bytes {
        return Ok(Err(Refusal(format!(
            "the artifact is larger than {} bytes",
            settings.max_artifact_bytes
        ))));
    }
    let staged = match client.download(listed.artifact_id, core, listed.size).await {
        Ok(staged) => staged,
        Err(e) => return Ok(Err(classify_client(e)?)),
    };
    if staged.sha256() != listed.sha256 || staged.size() != listed.size {
        return Ok(Err(Refusal(format!(
            "the artifact's bytes do not match the signed manifest (sha256 {} and {} bytes, expected {} and {})",
            staged.sha256(),
            staged.size(),
            listed.sha256,
            listed.size
        ))));
    }
    let remote = remote_version(
        solution,
        revision_id,
        listed.artifact_id,
        signed.manifest,
        signed.signature,
    );
    match core
        .import_version(peer, subscription, remote, staged)
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(e) => Ok(Err(classify_core(e)?)),
    }
}

/// A remote version as the peer described it, with the manifest that vouched for it (empty
/// for an unverified import).
pub(crate) fn remote_version(
    solution: &Solution,
    revision_id: Uuid,
    artifact_id: Uuid,
    manifest: String,
    signature: String,
) -> RemoteVersion {
    RemoteVersion {
        solution_id: solution.solution_id,
        name: solution.name.clone(),
        description: solution.description.clone(),
        card: solution.card.clone(),
        tags: solution.tags.iter().map(|t| t.tag.clone()).collect(),
        license: solution.license.clone(),
        revision_id,
        artifact_id,
        manifest,
        signature,
    }
}

/// Backoff after consecutive failures: 30 s doubling, at most an hour.
fn backoff(failures: i64) -> Duration {
    Duration::from_secs(30u64.saturating_mul(1 << failures.clamp(0, 7)).min(3600))
}

/// Runs `pass` while renewing the subscription's lease every third of it, so the lease can be
/// short (a replica killed mid-pass holds the subscription for one lease, not for the pass).
async fn holding_lease<T>(
    core: &Core,
    id: Uuid,
    lease: Duration,
    pass: impl Future<Output = T>,
) -> T {
    let renew = async {
        loop {
            tokio::time::sleep(lease / 3).await;
            match core.renew_sync(id, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(subscription = %id, "the sync lease is gone (subscription deleted?)")
                }
                Err(e) => {
                    tracing::warn!(subscription = %id, error = %e, "could not renew the sync lease")
                }
            }
        }
    };
    tokio::select! {
        out = pass => out,
        () = renew => unreachable!("the renewal loop never ends"),
    }
}

/// Runs one claimed subscription and records the outcome.
pub async fn run_subscription(
    core: &Core,
    http: &reqwest::Client,
    subscription: SubscriptionRecord,
    settings: &SyncSettings,
) -> Result<SyncReport, String> {
    let outcome = match core.peer_by_id(subscription.peer_id).await {
        Err(e) => Err(e.to_string()),
        Ok(peer) => match settings
            .outbound
            .check_url(caravan_outbound::Trust::Admin, &peer.api_url)
        {
            Err(refused) => Err(refused.to_string()),
            Ok(()) => {
                let client = PeerClient::new(http.clone(), &peer.api_url, settings.max_json_bytes);
                let pass = sync_once(core, &client, &peer, &subscription, settings);
                holding_lease(core, subscription.id, settings.lease, pass)
                    .await
                    .map_err(|e| e.to_string())
            }
        },
    };
    let record = match &outcome {
        Ok(report) => SyncOutcome::Success {
            cursor: report.cursor,
            withdrawn: report.withdrawn,
            next_run_at: Timestamp::after(Duration::from_secs(
                subscription.interval_secs.max(1) as u64
            )),
            refused: (!report.refused.is_empty()).then(|| {
                format!(
                    "refused {}: {}",
                    report.refused.len(),
                    // Bounded: a hostile peer must not fill the catalog with error text.
                    report
                        .refused
                        .join("; ")
                        .chars()
                        .take(2000)
                        .collect::<String>()
                )
            }),
        },
        Err(error) => SyncOutcome::Failure {
            error: error.clone(),
            next_run_at: Timestamp::after(backoff(subscription.failures)),
        },
    };
    if let Err(e) = core.finish_sync(subscription.id, record).await {
        tracing::error!(error = %e, "could not record a sync outcome");
    }
    match &outcome {
        Ok(report) => {
            tracing::info!(peer = %subscription.peer_name, imported = report.imported, withdrawn = report.withdrawn, refused = report.refused.len(), "synced")
        }
        Err(error) => {
            tracing::warn!(peer = %subscription.peer_name, %error, "sync failed; will retry")
        }
    }
    outcome
}

/// Syncs due subscriptions until the process ends.
pub fn spawn_worker(core: Core, http: reqwest::Client, settings: SyncSettings) {
    tokio::spawn(async move {
        loop {
            match core.next_due_subscription(settings.lease).await {
                Ok(Some(subscription)) => {
                    let _ = run_subscription(&core, &http, subscription, &settings).await;
                }
                Ok(None) => {
                    tokio::select! {
                        () = tokio::time::sleep(settings.poll) => {}
                        () = core.woken(caravan_domain::records::WorkQueue::Sync) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not claim a subscription");
                    tokio::time::sleep(settings.poll).await;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(super::backoff(0).as_secs(), 30);
        assert_eq!(super::backoff(2).as_secs(), 120);
        assert_eq!(super::backoff(50).as_secs(), 3600);
    }
}
