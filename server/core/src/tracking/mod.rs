//! MLflow tracking: experiments and runs (with params, tags and metric history), logged
//! models and their artifacts, so that `mlflow.<flavor>.log_model(..., registered_model_name=)`
//! works against Caravan and the run becomes the lineage of the version it registers.
//!
//! Runs, logged models and artifacts belong to who created them (and admins): MLflow OSS has
//! no such rule, but a run's artifacts are the bytes a version is built from. The Default
//! experiment (id 0) is open to every signed-in user; other experiments to their owner.

pub mod artifacts;
mod external_data;
mod lineage;
mod logged_models;
pub mod mlmodel;
mod multipart;
mod register;
pub mod wire;

use caravan_domain::records::{
    ExperimentRecord, MetricValue, NewTrackedRun, TrackedRun, TrackedRunBatch, TrackedRunData,
};
use caravan_domain::{Principal, Scope, Subject};

use crate::{Core, CoreError, Result, auth::require};

pub use artifacts::{ArtifactEntry, ArtifactRead};
pub use lineage::MlflowLineage;
pub use logged_models::{NewMlflowModel, logged_model_artifact_uri};
pub use register::MlflowSource;

/// MLflow's limits: key length, param and tag values, and how much one batch may log.
pub const MAX_KEY: usize = 250;
pub const MAX_PARAM_VALUE: usize = 6000;
pub const MAX_TAG_VALUE: usize = 8000;
pub const MAX_BATCH_METRICS: usize = 1000;
pub const MAX_BATCH_PARAMS: usize = 100;
pub const MAX_BATCH_TAGS: usize = 100;
const MAX_NAME: usize = 500;
/// Most models one run records the MLflow 2 way, and the largest MLmodel JSON of one.
const MAX_RUN_MODELS: i64 = 1000;
const MAX_MODEL_JSON: usize = 64 << 10;
const MAX_RUN_MODEL_CHARS: i64 = 4 << 20;
/// Most values one metric history answers.
pub const MAX_HISTORY: i64 = 100_000;
const RUN_STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

/// The current time in MLflow's unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Where a run keeps its artifacts, as MLflow names it (served by `/mlflow-artifacts`).
pub fn run_artifact_uri(run: &TrackedRun) -> String {
    format!(
        "mlflow-artifacts:/{}/{}/artifacts",
        run.experiment_id, run.id
    )
}

fn may_use(who: &Principal, owner: Option<uuid::Uuid>) -> bool {
    owner.is_none_or(|o| o == who.user_id) || who.is_admin()
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty()
        || name.chars().count() > MAX_NAME
        || name.chars().any(char::is_control)
    {
        return Err(CoreError::Invalid(format!(
            "{what} must be 1 to {MAX_NAME} characters without control characters"
        )));
    }
    Ok(())
}

/// Checks a param, tag or metric key, and a value against `max`.
pub(crate) fn check_entry(what: &str, key: &str, value: &str, max: usize) -> Result<()> {
    if key.is_empty() || key.chars().count() > MAX_KEY || key.chars().any(char::is_control) {
        return Err(CoreError::Invalid(format!(
            "{what} keys must be 1 to {MAX_KEY} characters without control characters, not {:?}",
            key.chars().take(40).collect::<String>()
        )));
    }
    if value.contains('\0') {
        return Err(CoreError::Invalid(format!(
            "the value of {what} {key:?} holds a NUL character"
        )));
    }
    if value.chars().count() > max {
        return Err(CoreError::Invalid(format!(
            "the value of {what} {key:?} is longer than {max} characters"
        )));
    }
    Ok(())
}

impl Core {
    /// An experiment `who` may use, by id.
    pub async fn experiment(&self, who: &Principal, id: i64) -> Result<ExperimentRecord> {
        require(who, Scope::Read)?;
        self.catalog
            .experiment(id)
            .await?
            .filter(|e| may_use(who, e.owner_id))
            .ok_or_else(|| {
                CoreError::not_found(Subject::Other, format!("no experiment with id {id}"))
            })
    }

    /// An experiment `who` may use, by name.
    pub async fn experiment_by_name(
        &self,
        who: &Principal,
        name: &str,
    ) -> Result<ExperimentRecord> {
        require(who, Scope::Read)?;
        self.catalog
            .experiment_by_name(name)
            .await?
            .filter(|e| may_use(who, e.owner_id))
            .ok_or_else(|| {
                CoreError::not_found(Subject::Other, format!("no experiment named {name:?}"))
            })
    }

    pub async fn create_experiment(&self, who: &Principal, name: &str) -> Result<ExperimentRecord> {
        require(who, Scope::Publish)?;
        check_name("an experiment name", name)?;
        match self
            .catalog
            .create_experiment(name, who.user_id, now_ms())
            .await
        {
            Err(caravan_catalog::CatalogError::Conflict { kind, .. }) => Err(CoreError::conflict(
                kind,
                format!(
                    "an experiment named {name:?} exists already; experiment names are shared by \
                     every user of this server, and only its creator can use it: choose another"
                ),
            )),
            other => Ok(other?),
        }
    }

    /// Starts a run in an experiment `who` may use.
    pub async fn create_run(
        &self,
        who: &Principal,
        experiment_id: i64,
        name: Option<&str>,
        start_ms: Option<i64>,
        tags: Vec<(String, String)>,
    ) -> Result<TrackedRun> {
        require(who, Scope::Publish)?;
        self.experiment(who, experiment_id).await?;
        if let Some(name) = name {
            check_name("a run name", name)?;
        }
        if tags.len() > MAX_BATCH_TAGS {
            return Err(CoreError::LimitExceeded(format!(
                "a run starts with at most {MAX_BATCH_TAGS} tags"
            )));
        }
        for (k, v) in &tags {
            check_entry("tag", k, v, MAX_TAG_VALUE)?;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = name.map_or_else(|| format!("run-{}", &id[..8]), str::to_owned);
        Ok(self
            .catalog
            .create_run(NewTrackedRun {
                id,
                experiment_id,
                owner_id: who.user_id,
                name,
                start_ms: start_ms.unwrap_or_else(now_ms),
                tags,
            })
            .await?)
    }

    /// A run of `who`'s (any run, for an admin) with its data.
    pub async fn run(&self, who: &Principal, id: &str) -> Result<(TrackedRun, TrackedRunData)> {
        require(who, Scope::Read)?;
        let run = self.own_run(who, id).await?;
        let data = self.catalog.tracked_run_data(&run.id).await?;
        Ok((run, data))
    }

    pub(crate) async fn own_run(&self, who: &Principal, id: &str) -> Result<TrackedRun> {
        self.catalog
            .tracked_run(id)
            .await?
            .filter(|r| may_use(who, Some(r.owner_id)))
            .ok_or_else(|| CoreError::not_found(Subject::Run, format!("run {id:?} not found")))
    }

    pub async fn update_run(
        &self,
        who: &Principal,
        id: &str,
        status: Option<&str>,
        end_ms: Option<i64>,
        name: Option<&str>,
    ) -> Result<TrackedRun> {
        require(who, Scope::Publish)?;
        let run = self.own_run(who, id).await?;
        if let Some(status) = status.filter(|s| !RUN_STATUSES.contains(s)) {
            return Err(CoreError::Invalid(format!(
                "a run's status is one of {}, not {status:?}",
                RUN_STATUSES.join(", ")
            )));
        }
        if let Some(name) = name {
            check_name("a run name", name)?;
        }
        self.catalog
            .update_tracked_run(&run.id, status, end_ms, name)
            .await?;
        self.own_run(who, id).await
    }

    pub async fn log_batch(&self, who: &Principal, id: &str, batch: TrackedRunBatch) -> Result<()> {
        require(who, Scope::Publish)?;
        let run = self.own_run(who, id).await?;
        if batch.metrics.len() > MAX_BATCH_METRICS
            || batch.params.len() > MAX_BATCH_PARAMS
            || batch.tags.len() > MAX_BATCH_TAGS
        {
            return Err(CoreError::LimitExceeded(format!(
                "one batch logs at most {MAX_BATCH_METRICS} metrics, {MAX_BATCH_PARAMS} params and {MAX_BATCH_TAGS} tags"
            )));
        }
        for (k, v) in &batch.params {
            check_entry("param", k, v, MAX_PARAM_VALUE)?;
        }
        for (k, v) in &batch.tags {
            check_entry("tag", k, v, MAX_TAG_VALUE)?;
        }
        for m in &batch.metrics {
            check_entry("metric", &m.key, "", 0)?;
        }
        Ok(self.catalog.log_batch(&run.id, batch).await?)
    }

    /// Every logged value of one metric of `who`'s run (at most [`MAX_HISTORY`]).
    pub async fn metric_history(
        &self,
        who: &Principal,
        id: &str,
        key: &str,
    ) -> Result<Vec<MetricValue>> {
        require(who, Scope::Read)?;
        let run = self.own_run(who, id).await?;
        Ok(self
            .catalog
            .metric_history(&run.id, key, MAX_HISTORY)
            .await?)
    }

    /// Records logged models (`who`'s own, of the run's experiment) as outputs of a run.
    pub async fn log_outputs(
        &self,
        who: &Principal,
        id: &str,
        outputs: Vec<(String, i64)>,
    ) -> Result<()> {
        require(who, Scope::Publish)?;
        let run = self.own_run(who, id).await?;
        if outputs.len() > MAX_BATCH_PARAMS {
            return Err(CoreError::LimitExceeded(format!(
                "one call logs at most {MAX_BATCH_PARAMS} outputs"
            )));
        }
        for (model, _) in &outputs {
            if self.logged_model(who, model).await?.experiment_id != run.experiment_id {
                return Err(CoreError::Invalid(format!(
                    "logged model {model:?} belongs to another experiment"
                )));
            }
        }
        Ok(self.catalog.log_outputs(&run.id, &outputs).await?)
    }

    /// Records a model the run logged (MLflow 2's `runs/log-model`), as its MLmodel JSON.
    pub async fn record_run_model(
        &self,
        who: &Principal,
        id: &str,
        model_json: &str,
    ) -> Result<()> {
        require(who, Scope::Publish)?;
        let run = self.own_run(who, id).await?;
        if model_json.len() > MAX_MODEL_JSON || model_json.contains('\0') {
            return Err(CoreError::Invalid(format!(
                "model_json must be at most {MAX_MODEL_JSON} bytes, without NUL characters"
            )));
        }
        if !self
            .catalog
            .record_run_model(&run.id, model_json, MAX_RUN_MODELS, MAX_RUN_MODEL_CHARS)
            .await?
        {
            return Err(CoreError::LimitExceeded(format!(
                "a run records at most {MAX_RUN_MODELS} models, {MAX_RUN_MODEL_CHARS} characters of MLmodel JSON in all"
            )));
        }
        Ok(())
    }
}
