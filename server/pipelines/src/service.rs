//! What the API calls: define pipelines (checked against the datasets and the model they
//! name), start, list and cancel runs, and start the runs a new dataset version triggers.

use caravan_catalog::CatalogError;
use caravan_core::{CoreError, Result, actor, require};
use caravan_domain::records::{NewPipeline, PipelineRecord, RunRecord};
use caravan_domain::{ConflictKind, Subject};
use caravan_domain::{ModelName, Principal, Scope};

use crate::{Pipelines, spec};

impl Pipelines {
    /// Checks a spec against what it names: the datasets exist, the evaluation dataset has the
    /// label and input columns, and the mapping fits the model's current signature.
    async fn check_spec(&self, who: &Principal, spec: &spec::PipelineSpec) -> Result<()> {
        let mut named = Vec::new();
        if let Some(train) = &spec.train {
            named.push(("train.dataset", &train.dataset));
        }
        if let Some(score) = &spec.score {
            named.push(("score.dataset", &score.dataset));
        }
        if let Some(d) = &spec.trigger.dataset {
            named.push(("trigger.dataset", d));
        }
        for (field, name) in named {
            if self.store.catalog.dataset_by_name(name).await?.is_none() {
                return Err(CoreError::Invalid(format!(
                    "{field}: dataset {name} does not exist"
                )));
            }
        }
        if let Some(s) = &spec.score {
            let version = self
                .core
                .dataset_version(who, &s.dataset, s.version)
                .await
                .map_err(|err| CoreError::Invalid(format!("score.dataset: {err}")))?;
            spec::check_columns("score.inputs", &s.inputs, &version.schema)
                .map_err(CoreError::Invalid)?;
        }
        if let Some(e) = &spec.evaluate {
            let version = self
                .core
                .dataset_version(who, &e.dataset, e.version)
                .await
                .map_err(|err| CoreError::Invalid(format!("evaluate.dataset: {err}")))?;
            spec::check_evaluation_dataset(e, &version.schema).map_err(CoreError::Invalid)?;
            let name =
                ModelName::parse(&spec.model).map_err(|e| CoreError::Invalid(e.to_string()))?;
            if let Ok(details) = self.core.model_details(Some(who), &name).await {
                let current = details
                    .aliases
                    .iter()
                    .find(|a| a.alias == spec.alias)
                    .map(|a| a.version)
                    .or(details.model.latest_version);
                if let Some(v) = details.versions.iter().find(|v| Some(v.version) == current) {
                    spec::check_signature(e, &v.info.signature).map_err(|why| {
                        CoreError::Invalid(format!("{why} (model {} v{})", spec.model, v.version))
                    })?;
                }
            }
        }
        Ok(())
    }

    fn check_trainer_rights(&self, who: &Principal) -> Result<()> {
        if !self.settings.command_trainers {
            return Err(CoreError::Forbidden(
                "command trainers are turned off on this instance (pipelines.command_trainers)"
                    .into(),
            ));
        }
        if !who.is_admin() {
            return Err(CoreError::Forbidden(
                "only admins may define command trainers: they run on the Caravan host".into(),
            ));
        }
        Ok(())
    }

    /// Creates a pipeline from a JSON spec.
    pub async fn create_pipeline(
        &self,
        who: &Principal,
        raw: serde_json::Value,
    ) -> Result<PipelineRecord> {
        require(who, Scope::Publish)?;
        let parsed = spec::parse(raw).map_err(CoreError::Invalid)?;
        if parsed.train.as_ref().is_some_and(|t| t.command.is_some()) {
            self.check_trainer_rights(who)?;
        }
        self.check_spec(who, &parsed).await?;
        let new = NewPipeline {
            name: parsed.name.clone(),
            owner_id: who.user_id,
            trigger_dataset: parsed.trigger.dataset.clone(),
            spec: serde_json::to_value(&parsed).expect("a spec serializes"),
        };
        let pipeline = self
            .store
            .catalog
            .create_pipeline(new, &actor(who))
            .await
            .map_err(|e| match e {
                CatalogError::Duplicate(_) => CoreError::conflict(
                    ConflictKind::AlreadyExists,
                    format!("a pipeline named {} exists", parsed.name),
                ),
                other => other.into(),
            })?;
        self.schedule(&pipeline, &parsed).await?;
        Ok(pipeline)
    }

    pub async fn pipelines(&self, who: &Principal) -> Result<Vec<PipelineRecord>> {
        require(who, Scope::Read)?;
        Ok(self.store.catalog.pipelines().await?)
    }

    pub async fn pipeline(&self, who: &Principal, name: &str) -> Result<PipelineRecord> {
        require(who, Scope::Read)?;
        self.store
            .catalog
            .pipeline_by_name(name)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(Subject::Pipeline, format!("pipeline {name} not found"))
            })
    }

    pub(crate) async fn managed(&self, who: &Principal, name: &str) -> Result<PipelineRecord> {
        let pipeline = self.pipeline(who, name).await?;
        if !who.can_manage(pipeline.owner_id) {
            return Err(CoreError::Forbidden(format!(
                "only the owner of pipeline {name} can change or run it"
            )));
        }
        Ok(pipeline)
    }

    pub async fn delete_pipeline(&self, who: &Principal, name: &str) -> Result<()> {
        let pipeline = self.managed(who, name).await?;
        Ok(self
            .store
            .catalog
            .delete_pipeline(pipeline.id, &actor(who))
            .await?)
    }

    /// Queues a run now.
    pub async fn start_run(&self, who: &Principal, name: &str) -> Result<RunRecord> {
        require(who, Scope::Deploy)?;
        let pipeline = self.managed(who, name).await?;
        let run = self
            .store
            .catalog
            .enqueue_run(pipeline.id, "manual", None)
            .await?;
        self.wake();
        Ok(run)
    }

    pub async fn runs(&self, who: &Principal, name: &str) -> Result<Vec<RunRecord>> {
        let pipeline = self.pipeline(who, name).await?;
        Ok(self.store.catalog.runs(pipeline.id, 100).await?)
    }

    pub async fn run(&self, who: &Principal, name: &str, id: uuid::Uuid) -> Result<RunRecord> {
        let pipeline = self.pipeline(who, name).await?;
        match self.store.catalog.run(id).await? {
            Some(run) if run.pipeline_id == pipeline.id => Ok(run),
            _ => Err(CoreError::not_found(
                Subject::Run,
                format!("pipeline {name} has no run {id}"),
            )),
        }
    }

    /// Cancels a queued run, or stops a running one at its next check.
    pub async fn cancel_run(
        &self,
        who: &Principal,
        name: &str,
        id: uuid::Uuid,
    ) -> Result<RunRecord> {
        self.managed(who, name).await?;
        self.run(who, name, id).await?;
        self.store
            .catalog
            .cancel_run(id, &actor(who))
            .await?
            .ok_or_else(|| {
                CoreError::not_found(Subject::Run, format!("pipeline {name} has no run {id}"))
            })
    }

    /// A step's log, if it wrote one.
    pub async fn step_log(
        &self,
        who: &Principal,
        name: &str,
        id: uuid::Uuid,
        step: &str,
    ) -> Result<Vec<u8>> {
        self.run(who, name, id).await?;
        let key = format!("pipelines/{id}/{step}.log");
        self.store.blobs.get_log(&key).await?.ok_or_else(|| {
            CoreError::not_found(Subject::Run, format!("run {id} has no {step} log"))
        })
    }

    /// Queues a run of every pipeline a new dataset version triggers.
    pub async fn dataset_added(&self, dataset: &str, version: i64) -> Result<Vec<RunRecord>> {
        let mut runs = Vec::new();
        for pipeline in self.store.catalog.pipelines_triggered_by(dataset).await? {
            let trigger = format!("dataset {dataset} v{version}");
            // The version that triggered the run is what it trains on, when it trains on it.
            let trains_on_it = ["train", "score"]
                .iter()
                .any(|kind| pipeline.spec[kind]["dataset"].as_str() == Some(dataset));
            let run = self
                .store
                .catalog
                .enqueue_run(pipeline.id, &trigger, trains_on_it.then_some(version))
                .await?;
            tracing::info!(pipeline = %pipeline.name, run = %run.id, %trigger, "pipeline run queued");
            runs.push(run);
        }
        if !runs.is_empty() {
            self.wake();
        }
        Ok(runs)
    }
}
