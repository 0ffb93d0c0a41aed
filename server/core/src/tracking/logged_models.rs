//! MLflow 3's logged models: created before their artifacts are uploaded, finalized once
//! they are, and tagged with the registered versions made from them.

use caravan_domain::records::{LoggedModelRecord, NewLoggedModel};
use caravan_domain::{Principal, Scope, Subject};

use super::{
    MAX_BATCH_TAGS, MAX_KEY, MAX_PARAM_VALUE, MAX_TAG_VALUE, check_entry, check_name, now_ms,
};
use crate::{Core, CoreError, Result, auth::require};

const STATUSES: [&str; 3] = [
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
];
/// Most params a logged model starts with.
const MAX_LOGGED_MODEL_PARAMS: usize = 10_000;
/// How many of an experiment's newest logged models a search looks at, and how many
/// experiments it names: a search's cost stays bounded however many models there are.
const SEARCHED_LOGGED_MODELS: i64 = 5_000;
const MAX_SEARCHED_EXPERIMENTS: usize = 100;

/// Where a logged model keeps its artifacts, as MLflow names it.
pub fn logged_model_artifact_uri(model: &LoggedModelRecord) -> String {
    format!(
        "mlflow-artifacts:/{}/models/{}/artifacts",
        model.experiment_id, model.id
    )
}

/// What `POST /logged-models` sends.
pub struct NewMlflowModel {
    pub experiment_id: i64,
    pub name: Option<String>,
    pub model_type: String,
    pub source_run_id: Option<String>,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

impl Core {
    pub async fn create_logged_model(
        &self,
        who: &Principal,
        new: NewMlflowModel,
    ) -> Result<LoggedModelRecord> {
        require(who, Scope::Publish)?;
        self.experiment(who, new.experiment_id).await?;
        if let Some(run) = &new.source_run_id {
            let run = self.own_run(who, run).await?;
            if run.experiment_id != new.experiment_id {
                return Err(CoreError::Invalid(
                    "source_run_id names a run of another experiment".into(),
                ));
            }
        }
        // MLflow 3 copies all of the run's params onto the logged model.
        if new.params.len() > MAX_LOGGED_MODEL_PARAMS || new.tags.len() > MAX_BATCH_TAGS {
            return Err(CoreError::LimitExceeded(format!(
                "a logged model starts with at most {MAX_LOGGED_MODEL_PARAMS} params and {MAX_BATCH_TAGS} tags"
            )));
        }
        check_entry("model_type", "model_type", &new.model_type, MAX_KEY)?;
        for (k, v) in &new.params {
            check_entry("param", k, v, MAX_PARAM_VALUE)?;
        }
        for (k, v) in &new.tags {
            check_entry("tag", k, v, MAX_TAG_VALUE)?;
        }
        let id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let name = match new.name {
            Some(name) => {
                check_name("a logged model's name", &name)?;
                name
            }
            None => format!("model-{}", &id[2..10]),
        };
        Ok(self
            .catalog
            .create_logged_model(NewLoggedModel {
                id,
                experiment_id: new.experiment_id,
                owner_id: who.user_id,
                name,
                model_type: new.model_type,
                source_run_id: new.source_run_id,
                params: new.params,
                tags: new.tags,
                created_ms: now_ms(),
            })
            .await?)
    }

    /// A logged model of `who`'s (any, for an admin).
    pub async fn logged_model(&self, who: &Principal, id: &str) -> Result<LoggedModelRecord> {
        require(who, Scope::Read)?;
        self.catalog
            .logged_model(id)
            .await?
            .filter(|m| m.owner_id == who.user_id || who.is_admin())
            .ok_or_else(|| {
                CoreError::not_found(Subject::Other, format!("logged model {id:?} not found"))
            })
    }

    /// `who`'s logged models in these experiments (everyone's, for an admin), newest first:
    /// the newest [`SEARCHED_LOGGED_MODELS`] of each experiment.
    pub async fn search_logged_models(
        &self,
        who: &Principal,
        experiment_ids: &[i64],
    ) -> Result<Vec<LoggedModelRecord>> {
        require(who, Scope::Read)?;
        let mut ids = experiment_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > MAX_SEARCHED_EXPERIMENTS {
            return Err(CoreError::Invalid(format!(
                "a search names at most {MAX_SEARCHED_EXPERIMENTS} experiments"
            )));
        }
        for id in &ids {
            self.experiment(who, *id).await?;
        }
        let owner = (!who.is_admin()).then_some(who.user_id);
        Ok(self
            .catalog
            .logged_models(&ids, owner, SEARCHED_LOGGED_MODELS)
            .await?)
    }

    pub async fn finalize_logged_model(
        &self,
        who: &Principal,
        id: &str,
        status: &str,
    ) -> Result<LoggedModelRecord> {
        require(who, Scope::Publish)?;
        let model = self.logged_model(who, id).await?;
        if !STATUSES.contains(&status) {
            return Err(CoreError::Invalid(format!(
                "a logged model's status is one of {}, not {status:?}",
                STATUSES.join(", ")
            )));
        }
        self.catalog
            .set_logged_model_status(&model.id, status, now_ms())
            .await?;
        self.logged_model(who, id).await
    }

    /// Adds params to a logged model (the client sends a run's params past the first batch
    /// this way).
    pub async fn log_logged_model_params(
        &self,
        who: &Principal,
        id: &str,
        params: Vec<(String, String)>,
    ) -> Result<()> {
        require(who, Scope::Publish)?;
        let model = self.logged_model(who, id).await?;
        let added: std::collections::BTreeSet<&str> = params
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !model.params.contains_key(*k))
            .collect();
        if model.params.len() + added.len() > MAX_LOGGED_MODEL_PARAMS {
            return Err(CoreError::LimitExceeded(format!(
                "a logged model has at most {MAX_LOGGED_MODEL_PARAMS} params"
            )));
        }
        for (k, v) in &params {
            check_entry("param", k, v, MAX_PARAM_VALUE)?;
        }
        self.catalog
            .log_logged_model_params(&model.id, &params, now_ms())
            .await?;
        Ok(())
    }

    /// Sets (`Some`) or deletes (`None`) tags of a logged model.
    pub async fn set_logged_model_tags(
        &self,
        who: &Principal,
        id: &str,
        tags: Vec<(String, Option<String>)>,
    ) -> Result<LoggedModelRecord> {
        require(who, Scope::Publish)?;
        let model = self.logged_model(who, id).await?;
        for (k, v) in &tags {
            check_entry("tag", k, v.as_deref().unwrap_or(""), MAX_TAG_VALUE)?;
        }
        let added = tags
            .iter()
            .filter(|(k, v)| v.is_some() && !model.tags.contains_key(k));
        if model.tags.len() + added.count() > MAX_BATCH_TAGS {
            return Err(CoreError::LimitExceeded(format!(
                "a logged model has at most {MAX_BATCH_TAGS} tags"
            )));
        }
        self.catalog
            .set_logged_model_tags(&model.id, &tags, now_ms())
            .await?;
        self.logged_model(who, id).await
    }
}
