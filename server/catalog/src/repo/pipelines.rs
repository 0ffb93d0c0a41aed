//! The repositories of datasets, pipelines, runs, triggers and outgoing events, and the
//! narrow handle the pipelines service gets.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    Actor, DatasetRecord, DatasetVersionRecord, HookRecord, LineageRecord, NewDatasetVersion,
    NewPipeline, OutboxRecord, PipelineRecord, Result, RunEnd, RunRecord, RunReport, Timestamp,
};

/// Datasets: immutable versions of a file, as content-addressed blobs.
#[async_trait]
pub trait DatasetRepo: Send + Sync {
    /// Adds a dataset version (creating the dataset on its first one); identical bytes return
    /// the existing version and `false`. Takes over the blob's reservation.
    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
        actor: &Actor,
    ) -> Result<(DatasetVersionRecord, bool)>;
    async fn datasets(&self) -> Result<Vec<DatasetRecord>>;
    async fn dataset_by_name(&self, name: &str) -> Result<Option<DatasetRecord>>;
    /// Newest first.
    async fn dataset_versions(&self, dataset_id: Uuid) -> Result<Vec<DatasetVersionRecord>>;
    async fn dataset_version(
        &self,
        dataset_id: Uuid,
        version: i64,
    ) -> Result<Option<DatasetVersionRecord>>;
}

/// Pipelines, runs (claimed with a lease, `SKIP LOCKED` on PostgreSQL) and lineage.
#[async_trait]
pub trait PipelineRepo: Send + Sync {
    /// `Duplicate` when the name is taken.
    async fn create_pipeline(&self, new: NewPipeline, actor: &Actor) -> Result<PipelineRecord>;
    async fn replace_pipeline(
        &self,
        id: Uuid,
        spec: serde_json::Value,
        trigger_dataset: Option<String>,
        actor: &Actor,
    ) -> Result<PipelineRecord>;
    async fn delete_pipeline(&self, id: Uuid, actor: &Actor) -> Result<()>;
    async fn pipelines(&self) -> Result<Vec<PipelineRecord>>;
    async fn pipeline_by_name(&self, name: &str) -> Result<Option<PipelineRecord>>;
    async fn pipeline_by_id(&self, id: Uuid) -> Result<Option<PipelineRecord>>;
    async fn pipelines_triggered_by(&self, dataset: &str) -> Result<Vec<PipelineRecord>>;

    async fn enqueue_run(
        &self,
        pipeline_id: Uuid,
        trigger: &str,
        dataset_version: Option<i64>,
    ) -> Result<RunRecord>;
    /// Claims the oldest due queued run, or a running one whose lease expired (its worker
    /// died), until `lease_until`; bumps its attempt. Nothing is claimed while `max_running`
    /// runs hold a live lease, whichever process holds them (claims are serialized, so
    /// concurrent claimers on several replicas never exceed it).
    async fn claim_run(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        max_running: i64,
    ) -> Result<Option<RunRecord>>;
    /// Saves progress and extends the lease of the run's `attempt`; `false` if the run was
    /// cancelled meanwhile, or taken over by another worker after its lease ran out (the
    /// attempt moved on).
    async fn save_run(
        &self,
        id: Uuid,
        attempt: i64,
        steps: &serde_json::Value,
        lease_until: Timestamp,
    ) -> Result<bool>;
    /// Records how the run's `attempt` ended; `false` (nothing written) if another worker
    /// took the run over.
    async fn end_run(&self, id: Uuid, attempt: i64, end: RunEnd) -> Result<bool>;
    /// Newest first.
    async fn runs(&self, pipeline_id: Uuid, limit: i64) -> Result<Vec<RunRecord>>;
    async fn run(&self, id: Uuid) -> Result<Option<RunRecord>>;
    /// Cancels a queued run at once, or asks a running one to stop; `None` if unknown.
    async fn cancel_run(&self, id: Uuid, actor: &Actor) -> Result<Option<RunRecord>>;

    async fn record_lineage(&self, lineage: LineageRecord) -> Result<()>;
    async fn lineage(&self, model_id: Uuid, version: i64) -> Result<Option<LineageRecord>>;
}

/// Cron schedules and the incoming webhook trigger of pipelines.
#[async_trait]
pub trait TriggerRepo: Send + Sync {
    async fn set_schedule(&self, pipeline_id: Uuid, next: Option<Timestamp>) -> Result<()>;
    /// Pipelines whose schedule fired by `now`, with the time it fired.
    async fn due_schedules(&self, now: Timestamp) -> Result<Vec<(Uuid, Timestamp)>>;
    /// Fires a schedule: moves it from `from` to `to` and, in the same transaction, queues a
    /// run with `trigger` unless one is still queued (it covers this firing too); `false`
    /// (nothing queued) if another replica already moved it.
    async fn fire_schedule(
        &self,
        pipeline_id: Uuid,
        from: Timestamp,
        to: Option<Timestamp>,
        trigger: &str,
    ) -> Result<bool>;
    async fn webhook_secrets(&self, pipeline_id: Uuid) -> Result<Vec<String>>;
    async fn set_webhook_secrets(
        &self,
        pipeline_id: Uuid,
        secrets: &[String],
        actor: &Actor,
    ) -> Result<()>;
    /// Remembers an accepted signature; `false` when it was seen before (a replay).
    async fn record_delivery(
        &self,
        pipeline_id: Uuid,
        signature: &str,
        at: Timestamp,
    ) -> Result<bool>;
    async fn prune_deliveries(&self, before: Timestamp) -> Result<()>;
    /// Records an external trainer's report; `false` if the run already has one.
    async fn report_run(&self, run_id: Uuid, report: &RunReport) -> Result<bool>;
    async fn run_report(&self, run_id: Uuid) -> Result<Option<RunReport>>;
}

/// Outgoing events: hooks and the outbox they are delivered from.
#[async_trait]
pub trait EventRepo: Send + Sync {
    async fn create_hook(
        &self,
        url: &str,
        events: &[String],
        secret: &str,
        actor: &Actor,
    ) -> Result<HookRecord>;
    async fn hooks(&self) -> Result<Vec<HookRecord>>;
    async fn delete_hook(&self, id: Uuid, actor: &Actor) -> Result<()>;
    /// Puts the event in the outbox of every hook that wants its type; returns how many.
    async fn enqueue_event(&self, event_type: &str, event: &serde_json::Value) -> Result<usize>;
    /// Claims due deliveries until `lease_until` (bumping their attempt count).
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxRecord>>;
    async fn outbox_delivered(&self, id: i64) -> Result<()>;
    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    async fn outbox_failed(&self, id: i64, error: &str, retry_at: Option<Timestamp>) -> Result<()>;
    /// Newest first.
    async fn hook_deliveries(&self, hook_id: Uuid, limit: i64) -> Result<Vec<OutboxRecord>>;
}

/// What the pipelines service reaches directly: its own tables (datasets, pipelines, runs,
/// triggers) and the event outbox it delivers. Everything else it asks of the use cases.
pub trait PipelineCatalog:
    DatasetRepo + PipelineRepo + TriggerRepo + EventRepo + Send + Sync
{
}

impl<T: DatasetRepo + PipelineRepo + TriggerRepo + EventRepo + Send + Sync + ?Sized> PipelineCatalog
    for T
{
}
