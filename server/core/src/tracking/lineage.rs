//! What a version registered through MLflow came from: its source and the run that logged it,
//! with the run's params and metrics. Shown to whoever may see the version (the publisher
//! chose to register from that run).

use caravan_domain::records::{TrackedRun, TrackedRunData, VersionSource};
use caravan_domain::{ModelName, Principal};

use crate::{Core, Result};

#[derive(Debug, Clone)]
pub struct MlflowLineage {
    pub source: VersionSource,
    /// The run, if it names one that still exists.
    pub run: Option<(TrackedRun, TrackedRunData)>,
}

impl Core {
    /// The MLflow sources of the versions of a model `who` may see.
    pub async fn version_sources(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
    ) -> Result<Vec<VersionSource>> {
        let model = self.visible_model(who, name).await?;
        Ok(self.catalog.version_sources(model.id).await?)
    }

    /// The MLflow lineage of one version, if it was registered through MLflow.
    pub async fn mlflow_lineage(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
        version: i64,
    ) -> Result<Option<MlflowLineage>> {
        let Some(source) = self
            .version_sources(who, name)
            .await?
            .into_iter()
            .find(|s| s.version == version)
        else {
            return Ok(None);
        };
        let run = match &source.run_id {
            Some(id) => match self.catalog.tracked_run(id).await? {
                Some(run) => {
                    let data = self.catalog.tracked_run_data(id).await?;
                    Some((run, data))
                }
                None => None,
            },
            None => None,
        };
        Ok(Some(MlflowLineage { source, run }))
    }
}
