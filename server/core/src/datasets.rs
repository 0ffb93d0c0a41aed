//! Datasets: immutable versions of a file (CSV), stored as content-addressed blobs with the
//! same reservation protocol as model versions. Every signed-in user can read them; their
//! owner (or an admin) adds versions.

use caravan_domain::Subject;
use caravan_domain::records::{DatasetRecord, DatasetVersionRecord, NewDatasetVersion};
use caravan_domain::{DatasetSchema, ModelName, Principal, Scope};
use caravan_storage::BlobRead;

use crate::{
    Core, CoreError, Result, Staged,
    auth::{actor, require},
};

/// A staged file, already parsed, about to become a dataset version.
pub struct DatasetUpload {
    pub name: String,
    pub description: Option<String>,
    pub format: String,
    pub schema: DatasetSchema,
    pub staged: Staged,
}

/// Dataset names follow the rules of model names (they appear in URLs).
pub fn check_dataset_name(name: &str) -> Result<()> {
    ModelName::parse(name)
        .map(|_| ())
        .map_err(|e| CoreError::Invalid(e.to_string().replace("model name", "dataset name")))
}

impl Core {
    /// Adds a version to a dataset, creating it on its first version; identical bytes return the
    /// existing version with `false`. Nothing is stored when anything fails.
    #[tracing::instrument(skip_all, fields(dataset = %upload.name, user = %who.username))]
    pub async fn add_dataset_version(
        &self,
        who: &Principal,
        upload: DatasetUpload,
    ) -> Result<(DatasetVersionRecord, bool)> {
        require(who, Scope::Publish)?;
        check_dataset_name(&upload.name)?;
        if let Some(existing) = self.catalog.dataset_by_name(&upload.name).await?
            && !who.can_manage(existing.owner_id)
        {
            return Err(CoreError::Forbidden(format!(
                "only the owner of dataset {} can add versions to it",
                upload.name
            )));
        }
        let staged = &upload.staged;
        let new = NewDatasetVersion {
            name: upload.name.clone(),
            owner_id: who.user_id,
            description: upload.description,
            sha256: staged.sha256().to_owned(),
            size: staged.size() as i64,
            format: upload.format,
            schema: upload.schema,
        };
        self.store_then_record(staged, || async {
            Ok(self
                .catalog
                .create_dataset_version(new, &actor(who))
                .await?)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn datasets(&self, who: &Principal) -> Result<Vec<DatasetRecord>> {
        require(who, Scope::Read)?;
        Ok(self.catalog.datasets().await?)
    }

    /// A dataset with its versions, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn dataset(
        &self,
        who: &Principal,
        name: &str,
    ) -> Result<(DatasetRecord, Vec<DatasetVersionRecord>)> {
        require(who, Scope::Read)?;
        let dataset = self.catalog.dataset_by_name(name).await?.ok_or_else(|| {
            CoreError::not_found(Subject::Dataset, format!("dataset {name} not found"))
        })?;
        let versions = self.catalog.dataset_versions(dataset.id).await?;
        Ok((dataset, versions))
    }

    /// A version by number, or the newest with `None`.
    #[tracing::instrument(skip_all)]
    pub async fn dataset_version(
        &self,
        who: &Principal,
        name: &str,
        version: Option<i64>,
    ) -> Result<DatasetVersionRecord> {
        let (_, versions) = self.dataset(who, name).await?;
        let found = match version {
            None => versions.into_iter().next(),
            Some(v) => versions.into_iter().find(|r| r.version == v),
        };
        found.ok_or_else(|| match version {
            None => {
                CoreError::not_found(Subject::Version, format!("dataset {name} has no versions"))
            }
            Some(v) => CoreError::not_found(
                Subject::Version,
                format!("dataset {name} has no version {v}"),
            ),
        })
    }

    /// Opens a dataset version's file.
    #[tracing::instrument(skip_all)]
    pub async fn open_dataset(&self, version: &DatasetVersionRecord) -> Result<BlobRead> {
        Ok(self.blobs.read(&version.sha256, None).await?)
    }
}
