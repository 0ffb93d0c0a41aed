//! MLflow tracking: experiments, runs and logged models, kept so that a version registered
//! through MLflow has the run that produced it as its lineage. Ids and times are MLflow's
//! (run ids are 32 hex digits, logged-model ids `m-` and 32 hex digits, times are
//! milliseconds since the epoch).

use std::collections::BTreeMap;

use uuid::Uuid;

/// The experiment every signed-in user may log runs into (MLflow's `Default`, id 0).
pub const DEFAULT_EXPERIMENT: i64 = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentRecord {
    pub id: i64,
    pub name: String,
    /// `None` for the Default experiment.
    pub owner_id: Option<Uuid>,
    pub lifecycle_stage: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrackedRun {
    pub id: String,
    pub experiment_id: i64,
    pub owner_id: Uuid,
    pub name: String,
    pub start_ms: i64,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedRun {
    pub id: String,
    pub experiment_id: i64,
    pub owner_id: Uuid,
    /// The owner's username (MLflow's `user_id`).
    pub owner: String,
    pub name: String,
    /// MLflow's run status: RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
    pub status: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub lifecycle_stage: String,
}

/// One logged value of a metric; `None` is NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub key: String,
    pub value: Option<f64>,
    pub timestamp_ms: i64,
    pub step: i64,
}

/// A run's params, tags, each metric's latest value (the highest step, then the latest
/// timestamp, as MLflow shows a run), the logged models it produced with their steps, and
/// the models it logged the MLflow 2 way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackedRunData {
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub metrics: Vec<MetricValue>,
    pub outputs: Vec<(String, i64)>,
    /// The MLmodel JSON of each model the run logged through MLflow 2's `runs/log-model`.
    pub model_history: Vec<String>,
}

/// What one `log-batch` adds to a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackedRunBatch {
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub metrics: Vec<MetricValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLoggedModel {
    pub id: String,
    pub experiment_id: i64,
    pub owner_id: Uuid,
    pub name: String,
    pub model_type: String,
    pub source_run_id: Option<String>,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedModelRecord {
    pub id: String,
    pub experiment_id: i64,
    pub owner_id: Uuid,
    pub name: String,
    pub model_type: String,
    pub source_run_id: Option<String>,
    /// LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.
    pub status: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Where a version registered through MLflow came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionSource {
    pub version: i64,
    /// The `source` as the client sent it.
    pub source: String,
    pub run_id: Option<String>,
    pub logged_model_id: Option<String>,
    /// MLflow's signature from the MLmodel file (JSON), as the client logged it.
    pub signature: Option<String>,
    /// The artifact directory the version was read from, if it came from one. Only its owner
    /// reads it (it stays writable after registering); others get the version's own copy.
    pub directory: Option<String>,
}
