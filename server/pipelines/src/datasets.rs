//! The dataset and lineage use cases that need what pipelines know: an upload is read for its
//! columns, types and rows, stored as a version, and starts the pipelines it triggers, in one
//! call; a preview reads the first rows of a version's file; a version's lineage says which run
//! produced it.

use caravan_core::{CoreError, DatasetUpload, Result, Staged, check_dataset_name};
use caravan_domain::{
    ModelName, Principal, Subject, VersionRef,
    records::{DatasetVersionRecord, LineageRecord, VersionRecord},
};

use crate::{Pipelines, StepError, dataset::DatasetError, formats};

impl Pipelines {
    /// Adds a version to dataset `name` from a staged file (CSV or Parquet), creating the
    /// dataset on its first version, and queues the runs it triggers. Identical bytes return
    /// the existing version with `false` (and trigger nothing).
    pub async fn upload_dataset(
        &self,
        who: &Principal,
        name: &str,
        description: Option<String>,
        staged: Staged,
    ) -> Result<(DatasetVersionRecord, bool)> {
        check_dataset_name(name)?;
        let path = staged.path().to_owned();
        let span = tracing::Span::current();
        let (format, schema) =
            tokio::task::spawn_blocking(move || span.in_scope(|| formats::sniff(&path)))
                .await
                .map_err(CoreError::internal)?
                .map_err(unusable)?;
        let upload = DatasetUpload {
            name: name.to_owned(),
            description,
            format: format.into(),
            schema,
            staged,
        };
        let (version, created) = self.core.add_dataset_version(who, upload).await?;
        if created && let Err(e) = self.dataset_added(&version.dataset, version.version).await {
            e.log();
            tracing::error!("could not queue the runs a dataset version triggers");
        }
        Ok((version, created))
    }

    /// The column names and first `rows` rows of a dataset version (`None`: the newest).
    pub async fn preview_dataset(
        &self,
        who: &Principal,
        name: &str,
        version: Option<i64>,
        rows: usize,
    ) -> Result<(Vec<String>, Vec<Vec<String>>)> {
        let record = self.core.dataset_version(who, name, version).await?;
        let file = self.local_copy(&record.sha256).await.map_err(|e| match e {
            StepError::Retryable(m) | StepError::Permanent(m) => CoreError::internal(m),
            StepError::Cancelled => CoreError::internal("cancelled"),
        })?;
        let format = record.format.clone();
        let span = tracing::Span::current();
        let preview = move || formats::preview(file.path(), &format, rows);
        tokio::task::spawn_blocking(move || span.in_scope(preview))
            .await
            .map_err(CoreError::internal)?
            .map_err(|e| match e {
                DatasetError::Io(e) => CoreError::internal(e),
                // The stored file was sniffed on upload: failing now is the server's problem.
                DatasetError::Invalid(why) => CoreError::internal(why),
            })
    }

    /// A version the caller may read, and the run that produced it (if one did).
    pub async fn lineage(
        &self,
        who: &Principal,
        model: &ModelName,
        version: &VersionRef,
    ) -> Result<(VersionRecord, LineageRecord)> {
        let (model, version) = self.core.version(Some(who), model, version).await?;
        let lineage = self
            .store
            .catalog
            .lineage(model.id, version.version)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(
                    Subject::Run,
                    format!(
                        "{} v{} was not produced by a pipeline",
                        model.name, version.version
                    ),
                )
            })?;
        Ok((version, lineage))
    }
}

fn unusable(e: DatasetError) -> CoreError {
    match e {
        DatasetError::Invalid(why) => {
            CoreError::Invalid(format!("the file is not a usable dataset: {why}"))
        }
        DatasetError::Io(e) => CoreError::internal(e),
    }
}
