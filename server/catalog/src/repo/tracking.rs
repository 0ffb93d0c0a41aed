//! MLflow tracking: experiments, runs, logged models, and the sources of versions registered
//! through MLflow.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    ExperimentRecord, LoggedModelRecord, MetricValue, NewLoggedModel, NewTrackedRun, Result,
    TrackedRun, TrackedRunBatch, TrackedRunData, VersionSource,
};

#[async_trait]
pub trait TrackingRepo: Send + Sync {
    /// `Conflict` when the name is taken.
    async fn create_experiment(
        &self,
        name: &str,
        owner_id: Uuid,
        now_ms: i64,
    ) -> Result<ExperimentRecord>;
    async fn experiment(&self, id: i64) -> Result<Option<ExperimentRecord>>;
    async fn experiment_by_name(&self, name: &str) -> Result<Option<ExperimentRecord>>;

    /// `Conflict` when the id is taken.
    async fn create_run(&self, run: NewTrackedRun) -> Result<TrackedRun>;
    async fn tracked_run(&self, id: &str) -> Result<Option<TrackedRun>>;
    async fn tracked_run_data(&self, id: &str) -> Result<TrackedRunData>;
    /// Sets what is `Some`; `false` if there is no such run.
    async fn update_tracked_run(
        &self,
        id: &str,
        status: Option<&str>,
        end_ms: Option<i64>,
        name: Option<&str>,
    ) -> Result<bool>;
    /// Every logged value of one metric of a run, by step and time (at most `limit`).
    async fn metric_history(&self, run_id: &str, key: &str, limit: i64)
    -> Result<Vec<MetricValue>>;
    /// Appends a model's MLmodel JSON to the run's model history; `false` past `max_models`
    /// entries or `max_chars` characters in all.
    async fn record_run_model(
        &self,
        run_id: &str,
        model_json: &str,
        max_models: i64,
        max_chars: i64,
    ) -> Result<bool>;
    /// Records logged models as outputs of a run (again: the step is updated).
    async fn log_outputs(&self, run_id: &str, outputs: &[(String, i64)]) -> Result<()>;
    /// Adds params, tags and metric values in one transaction. A param logged again with
    /// another value is a `Conflict` (MLflow's params are immutable) and adds nothing.
    async fn log_batch(&self, run_id: &str, batch: TrackedRunBatch) -> Result<()>;
}

/// MLflow 3's logged models, and where versions registered through MLflow came from.
#[async_trait]
pub trait LoggedModelRepo: Send + Sync {
    /// `Conflict` when the id is taken.
    async fn create_logged_model(&self, model: NewLoggedModel) -> Result<LoggedModelRecord>;
    async fn logged_model(&self, id: &str) -> Result<Option<LoggedModelRecord>>;
    /// The logged models of these experiments (only `owner`'s, when given), newest first: at
    /// most the `newest` of each experiment.
    async fn logged_models(
        &self,
        experiment_ids: &[i64],
        owner: Option<Uuid>,
        newest: i64,
    ) -> Result<Vec<LoggedModelRecord>>;
    /// `false` if there is no such logged model.
    async fn set_logged_model_status(&self, id: &str, status: &str, now_ms: i64) -> Result<bool>;
    /// Adds params (one already there keeps its value unless the same); `false` if there is no
    /// such logged model, `Conflict` if a param would change.
    async fn log_logged_model_params(
        &self,
        id: &str,
        params: &[(String, String)],
        now_ms: i64,
    ) -> Result<bool>;
    /// Sets tags (`None` deletes the key); `false` if there is no such logged model.
    async fn set_logged_model_tags(
        &self,
        id: &str,
        tags: &[(String, Option<String>)],
        now_ms: i64,
    ) -> Result<bool>;

    /// Records where a version came from (`NotFound` if there is no such version).
    async fn record_version_source(&self, model_id: Uuid, source: VersionSource) -> Result<()>;
    async fn version_sources(&self, model_id: Uuid) -> Result<Vec<VersionSource>>;
}
