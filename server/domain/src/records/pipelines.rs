//! Datasets, pipelines, their runs (a job queue), and the lineage of produced versions.

use crate::DatasetSchema;
use uuid::Uuid;

use super::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRecord {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub owner: String,
    pub description: String,
    pub latest_version: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One immutable version of a dataset: a stored file and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetVersionRecord {
    pub dataset_id: Uuid,
    pub dataset: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
    pub format: String,
    pub schema: DatasetSchema,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// A dataset version about to be recorded; its blob must have been reserved.
#[derive(Debug, Clone)]
pub struct NewDatasetVersion {
    pub name: String,
    pub owner_id: Uuid,
    /// Replaces the dataset's description when set and a new version is recorded (identical
    /// bytes change nothing).
    pub description: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub format: String,
    pub schema: DatasetSchema,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRecord {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub owner: String,
    pub spec: serde_json::Value,
    pub trigger_dataset: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewPipeline {
    pub name: String,
    pub owner_id: Uuid,
    pub spec: serde_json::Value,
    pub trigger_dataset: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<RunStatus> {
        [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

/// A pipeline run; `steps` and `outcome` are the pipelines crate's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: Uuid,
    pub seq: i64,
    pub pipeline_id: Uuid,
    pub pipeline: String,
    pub trigger: String,
    pub dataset_version: Option<i64>,
    pub status: RunStatus,
    pub attempt: i64,
    pub not_before: Timestamp,
    pub lease_until: Option<Timestamp>,
    pub cancel_requested: bool,
    pub steps: serde_json::Value,
    pub outcome: serde_json::Value,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// How a run ended, or that it goes back to the queue for another attempt.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub status: RunStatus,
    pub steps: serde_json::Value,
    pub outcome: serde_json::Value,
    pub error: Option<String>,
    /// For a retry (status `Queued`): not before this time.
    pub retry_at: Option<Timestamp>,
}

/// Where a version a pipeline produced came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageRecord {
    pub model_id: Uuid,
    pub version: i64,
    pub run_id: Uuid,
    pub pipeline: String,
    pub dataset: Option<String>,
    pub dataset_version: Option<i64>,
    pub compared_with: Option<i64>,
    pub metrics: serde_json::Value,
    pub created_at: Timestamp,
}

/// Where events of some types are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRecord {
    pub id: Uuid,
    pub url: String,
    /// Event types, or `*` for all.
    pub events: Vec<String>,
    /// Signs each delivery (HMAC-SHA256).
    pub secret: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// One event for one hook, delivered (with retries) from the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    pub id: i64,
    pub hook_id: Uuid,
    pub url: String,
    pub secret: String,
    pub event: serde_json::Value,
    pub attempts: i64,
    pub delivered_at: Option<Timestamp>,
    pub failed_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

/// What an external trainer reported for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub succeeded: bool,
    /// The version it onboarded, when it succeeded.
    pub version: Option<i64>,
    pub error: Option<String>,
    pub reported_by: String,
    pub reported_at: Timestamp,
}
