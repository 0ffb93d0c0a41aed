//! The Open Inference Protocol's questions, answered about a runner's one model: its name,
//! and its current revision as the only version (`latest`, `champion` and no version name it
//! too, so callers written against the server's aliases keep working).

use std::sync::Arc;

use async_trait::async_trait;
use caravan_domain::{Principal, Subject};
use caravan_inference::serving::LoadedModel;

use super::{Runner, Served};
use crate::{
    CoreError, IndexEntry, Inference, InferenceRequest, ModelService, Result, VersionMetadata,
    run_loaded,
};

impl Runner {
    /// The served model, if `name` and `version` name it.
    fn served(&self, name: &str, version: Option<&str>) -> Result<Arc<Served>> {
        if name != self.name {
            return Err(CoreError::not_found(
                Subject::Model,
                format!("model {name} not found; this runner serves {}", self.name),
            ));
        }
        let served = self
            .current()
            .ok_or_else(|| CoreError::Busy(format!("{name} is not loaded yet; retry shortly")))?;
        match version {
            None | Some("latest" | "champion") => Ok(served),
            Some(v) if v.parse() == Ok(served.revision) => Ok(served),
            Some(v) => Err(CoreError::not_found(
                Subject::Version,
                format!(
                    "model {name} has no version {v}; this runner serves revision {}",
                    served.revision
                ),
            )),
        }
    }
}

fn one_model_only() -> CoreError {
    CoreError::Forbidden(
        "a runner serves one model: replace it with PUT /model instead of loading or unloading"
            .into(),
    )
}

#[async_trait]
impl ModelService for Runner {
    async fn infer(
        &self,
        _: Option<&Principal>,
        name: &str,
        version: Option<&str>,
        request: InferenceRequest,
    ) -> Result<Inference> {
        let served = self.served(name, version)?;
        let max_rows = self.registry.settings().max_rows;
        run_loaded(
            &served.loaded,
            &self.name,
            served.revision,
            max_rows,
            request,
        )
        .await
    }

    async fn metadata(
        &self,
        _: Option<&Principal>,
        name: &str,
        version: Option<&str>,
    ) -> Result<VersionMetadata> {
        let served = self.served(name, version)?;
        Ok(VersionMetadata::new(
            self.name.clone(),
            served.revision,
            vec![served.revision],
            served.info.clone(),
            self.registry.settings(),
        )
        .with_sha256(&served.sha256))
    }

    async fn stats(
        &self,
        _: Option<&Principal>,
        name: Option<&str>,
        version: Option<&str>,
    ) -> Result<Vec<(String, Arc<LoadedModel>)>> {
        let served = match name {
            Some(name) => self.served(name, version)?,
            None => match self.current() {
                Some(served) => served,
                None => return Ok(Vec::new()),
            },
        };
        Ok(vec![(self.name.clone(), served.loaded.clone())])
    }

    fn ready(&self) -> bool {
        self.current().is_some()
    }

    async fn index(&self, _: Option<&Principal>, _only_loaded: bool) -> Result<Vec<IndexEntry>> {
        Ok(self
            .current()
            .map(|served| IndexEntry {
                name: self.name.clone(),
                version: served.revision,
                loaded: true,
            })
            .into_iter()
            .collect())
    }

    async fn load(&self, _: &Principal, _: &str, _: Option<&str>) -> Result<i64> {
        Err(one_model_only())
    }

    async fn unload(&self, _: &Principal, _: &str, _: Option<&str>) -> Result<i64> {
        Err(one_model_only())
    }
}
