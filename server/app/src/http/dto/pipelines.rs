//! Datasets, pipelines, runs and lineage.

use caravan_domain::DatasetSchema;
use caravan_domain::records::{
    DatasetRecord, DatasetVersionRecord, LineageRecord, PipelineRecord, RunRecord, RunStatus,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dataset {
    pub name: String,
    pub owner: String,
    pub description: String,
    pub latest_version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DatasetRecord> for Dataset {
    fn from(d: DatasetRecord) -> Self {
        Dataset {
            name: d.name,
            owner: d.owner,
            description: d.description,
            latest_version: d.latest_version,
            created_at: d.created_at.0,
            updated_at: d.updated_at.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DatasetVersion {
    pub dataset: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
    pub format: String,
    pub schema: DatasetSchema,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub content_url: String,
}

impl From<DatasetVersionRecord> for DatasetVersion {
    fn from(v: DatasetVersionRecord) -> Self {
        DatasetVersion {
            content_url: format!(
                "/api/v1/datasets/{}/versions/{}/content",
                v.dataset, v.version
            ),
            dataset: v.dataset,
            version: v.version,
            sha256: v.sha256,
            size: v.size,
            format: v.format,
            schema: v.schema,
            created_by: v.created_by,
            created_at: v.created_at.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DatasetDetails {
    #[serde(flatten)]
    pub dataset: Dataset,
    /// Newest first.
    pub versions: Vec<DatasetVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
    pub owner: String,
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<PipelineRecord> for Pipeline {
    fn from(p: PipelineRecord) -> Self {
        Pipeline {
            id: p.id,
            name: p.name,
            owner: p.owner,
            spec: p.spec,
            created_at: p.created_at.0,
            updated_at: p.updated_at.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Run {
    pub id: Uuid,
    /// 1, 2, ... per pipeline.
    pub number: i64,
    pub pipeline: String,
    pub trigger: String,
    pub dataset_version: Option<i64>,
    #[schema(value_type = String)]
    pub status: RunStatus,
    pub attempt: i64,
    pub cancel_requested: bool,
    /// Each step's status, timings, log and details, and what the steps learned.
    #[schema(value_type = Object)]
    pub state: serde_json::Value,
    /// Candidate, incumbent, their metrics and the gate's decision with its reason.
    #[schema(value_type = Object)]
    pub outcome: serde_json::Value,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<RunRecord> for Run {
    fn from(r: RunRecord) -> Self {
        Run {
            id: r.id,
            number: r.seq,
            pipeline: r.pipeline,
            trigger: r.trigger,
            dataset_version: r.dataset_version,
            status: r.status,
            attempt: r.attempt,
            cancel_requested: r.cancel_requested,
            state: r.steps,
            outcome: r.outcome,
            error: r.error,
            created_at: r.created_at.0,
            started_at: r.started_at.map(|t| t.0),
            finished_at: r.finished_at.map(|t| t.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lineage {
    /// `pipeline` (a Caravan pipeline run produced it) or `mlflow` (registered from an MLflow
    /// run: `pipeline` is then `mlflow`, `run_id` the MLflow run's id, `metrics` each metric's
    /// latest value).
    #[serde(default)]
    pub origin: String,
    pub run_id: Uuid,
    pub pipeline: String,
    pub dataset: Option<String>,
    pub dataset_version: Option<i64>,
    /// The version it was compared with (the alias's holder at the time).
    pub compared_with: Option<i64>,
    #[schema(value_type = Object)]
    pub metrics: serde_json::Value,
    /// The MLflow run's params.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, String>,
    /// The MLflow `source` the version was registered from, and the run's experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    /// MLflow's signature from the model's MLmodel file, as the client logged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub signature: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl Lineage {
    /// The lineage of a version registered through MLflow; `None` if its run is gone or is not
    /// a run id this server gave.
    pub fn of_mlflow(l: caravan_core::tracking::MlflowLineage) -> Option<Self> {
        let (run, data) = l.run?;
        let metrics: serde_json::Map<String, serde_json::Value> = data
            .metrics
            .iter()
            .map(|m| (m.key.clone(), crate::http::mlflow::metric_value(m.value)))
            .collect();
        Some(Lineage {
            origin: "mlflow".into(),
            run_id: Uuid::try_parse(&run.id).ok()?,
            pipeline: "mlflow".into(),
            dataset: None,
            dataset_version: None,
            compared_with: None,
            metrics: metrics.into(),
            params: data.params,
            source: Some(l.source.source),
            experiment_id: Some(run.experiment_id.to_string()),
            signature: l
                .source
                .signature
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            created_at: DateTime::<Utc>::from_timestamp_millis(run.start_ms).unwrap_or_default(),
        })
    }
}

impl From<LineageRecord> for Lineage {
    fn from(l: LineageRecord) -> Self {
        Lineage {
            origin: "pipeline".into(),
            run_id: l.run_id,
            pipeline: l.pipeline,
            dataset: l.dataset,
            dataset_version: l.dataset_version,
            compared_with: l.compared_with,
            metrics: l.metrics,
            params: Default::default(),
            source: None,
            experiment_id: None,
            signature: None,
            created_at: l.created_at.0,
        }
    }
}
