//! `model-versions/create` from an MLflow `source`: find the model directory among Caravan's
//! own artifacts (or a version Caravan holds), read its `MLmodel`, take the ONNX file and
//! onboard it exactly as a push (validated in the confined child, nothing kept if refused).
//! The run it came from becomes the version's lineage.

use caravan_domain::records::{ModelPatch, Published, VersionSource};
use caravan_domain::{ModelName, Principal, Scope, Subject, VersionRef};

use super::artifacts::{ArtifactPath, Owner, is_logged_model_id, missing};
use super::mlmodel::{self, MAX_MLMODEL_BYTES};
use crate::{Core, CoreError, Result, Staged, Upload, auth::require};

/// What the client names the version's bytes by.
#[derive(Debug, Clone, Default)]
pub struct MlflowSource {
    pub source: String,
    pub run_id: Option<String>,
    pub model_id: Option<String>,
}

/// Where a source's bytes are.
enum Resolved {
    /// An MLflow model directory in the artifact store.
    Directory(ArtifactPath),
    /// A version Caravan holds already (`models:/name/1`, `models:/name@alias`).
    Version(ModelName, VersionRef),
}

fn outside(source: &str) -> CoreError {
    CoreError::Invalid(format!(
        "source {:?} is outside Caravan's artifacts: register from models:/, runs:/ or \
         mlflow-artifacts:/ URIs that this server holds (log the model to this tracking server first)",
        source.chars().take(120).collect::<String>()
    ))
}

impl Core {
    /// Adds a version to the existing model `name` from an MLflow source.
    #[tracing::instrument(skip_all, fields(model = %name))]
    pub async fn register_mlflow_version(
        &self,
        who: &Principal,
        name: &ModelName,
        source: MlflowSource,
        tags: Vec<(String, String)>,
    ) -> Result<Published> {
        require(who, Scope::Publish)?;
        if self.publishable(who, name).await?.is_none() {
            return Err(CoreError::not_found(
                Subject::Model,
                format!("registered model {name} not found"),
            ));
        }
        for (k, v) in &tags {
            crate::check_property(k, v)?;
        }
        let (staged, mut origin) = match self.resolve_source(who, &source).await? {
            Resolved::Directory(dir) => self.stage_model_directory(&dir).await?,
            Resolved::Version(from, version) => {
                self.stage_held_version(who, &from, &version).await?
            }
        };
        origin.source = source.source.clone();
        origin.run_id = self
            .trusted_run(who, [source.run_id, origin.run_id.take()])
            .await;
        let claimed = origin.logged_model_id.take().or(source.model_id);
        origin.logged_model_id = match claimed {
            Some(id)
                if self
                    .logged_model(who, &id)
                    .await
                    .is_ok_and(|m| m.owner_id == who.user_id) =>
            {
                Some(id)
            }
            _ => None,
        };
        let published = self
            .onboard(
                who,
                Upload {
                    name: name.clone(),
                    metadata: ModelPatch::default(),
                    staged,
                    proto: None,
                },
            )
            .await?;
        origin.version = published.version.version;
        self.catalog
            .record_version_source(published.model.id, origin)
            .await?;
        for (k, v) in tags {
            self.set_property(who, name, Some(published.version.version), &k, &v)
                .await?;
        }
        Ok(published)
    }

    async fn resolve_source(&self, who: &Principal, source: &MlflowSource) -> Result<Resolved> {
        let raw = source.source.trim();
        if let Some(rest) = raw.strip_prefix("models:/") {
            let rest = rest.trim_start_matches('/');
            if is_logged_model_id(rest) {
                let model = self.logged_model(who, rest).await?;
                let dir = format!("{}/models/{}/artifacts", model.experiment_id, model.id);
                return Ok(Resolved::Directory(
                    self.artifact_path(who, &dir, false).await?,
                ));
            }
            let (name, version) = match rest.split_once('@') {
                Some((name, alias)) => (name, alias.to_owned()),
                None => rest
                    .split_once('/')
                    .ok_or_else(|| outside(raw))
                    .map(|(n, v)| (n, v.to_owned()))?,
            };
            let name = ModelName::parse_any(name).map_err(|_| outside(raw))?;
            let version = VersionRef::parse(&version).map_err(|_| outside(raw))?;
            return Ok(Resolved::Version(name, version));
        }
        if let Some(rest) = raw.strip_prefix("runs:/") {
            let (run, relative) = rest
                .trim_start_matches('/')
                .split_once('/')
                .unwrap_or((rest, ""));
            let run = self.own_run(who, run).await?;
            let dir = format!("{}/{}/artifacts/{relative}", run.experiment_id, run.id);
            return Ok(Resolved::Directory(
                self.artifact_path(who, &dir, false).await?,
            ));
        }
        if let Some(rest) = raw.strip_prefix("mlflow-artifacts:") {
            let rest = rest.trim_start_matches('/');
            // mlflow-artifacts://host:port/path names this server too.
            let path = if raw.starts_with("mlflow-artifacts://") {
                rest.split_once('/').map_or("", |(_, p)| p)
            } else {
                rest
            };
            return Ok(Resolved::Directory(
                self.artifact_path(who, path, false).await?,
            ));
        }
        Err(outside(raw))
    }

    /// Reads `MLmodel` in `dir` and stages its ONNX file.
    async fn stage_model_directory(&self, dir: &ArtifactPath) -> Result<(Staged, VersionSource)> {
        let mlmodel_path = dir.join("MLmodel")?;
        let bytes = self
            .blobs
            .artifact_bytes(&mlmodel_path.path, MAX_MLMODEL_BYTES)
            .await
            .map_err(|e| match e {
                caravan_storage::StorageError::NotFound(_) => CoreError::Invalid(format!(
                    "no MLmodel file under {:?}: the source must name an MLflow model directory",
                    dir.path
                )),
                caravan_storage::StorageError::TooLarge(_) => {
                    CoreError::Invalid("the MLmodel file is larger than 1 MiB".into())
                }
                other => other.into(),
            })?;
        let parsed = mlmodel::parse(&bytes)?;
        let onnx = dir.join(&parsed.onnx_file)?;
        let read = self.blobs.read_artifact(&onnx.path).await.map_err(|e| {
            match missing(e, &onnx.path) {
                CoreError::NotFound { .. } => CoreError::Invalid(format!(
                    "the MLmodel names {:?}, which is not in the model directory",
                    parsed.onnx_file
                )),
                other => other,
            }
        })?;
        let staged = self.stage(read.stream, self.model_limit()).await?;
        let staged = match self.inline_external_data(&onnx, &staged).await? {
            Some(inlined) => inlined,
            None => staged,
        };
        // The directory's owner says where it came from; the MLmodel's own claim comes second.
        let (dir_run, dir_model) = match &dir.owner {
            Owner::Run(id) => (Some(id.clone()), None),
            Owner::LoggedModel(id) => {
                let model = self.catalog.logged_model(id).await?;
                (model.and_then(|m| m.source_run_id), Some(id.clone()))
            }
        };
        let origin = VersionSource {
            run_id: dir_run.or(parsed.run_id),
            logged_model_id: dir_model.or(parsed.model_id),
            signature: parsed.signature,
            directory: Some(dir.path.clone()),
            ..Default::default()
        };
        Ok((staged, origin))
    }

    /// Stages the file of a version `who` may see (registering it under another name).
    async fn stage_held_version(
        &self,
        who: &Principal,
        name: &ModelName,
        version: &VersionRef,
    ) -> Result<(Staged, VersionSource)> {
        let (model, version) = self.version(Some(who), name, version).await?;
        let origin = self
            .catalog
            .version_sources(model.id)
            .await?
            .into_iter()
            .find(|s| s.version == version.version);
        let mut origin = origin.unwrap_or_default();
        // The copy downloads as its directory only for whoever owns that directory.
        if let Some(dir) = &origin.directory
            && !self.owns_artifacts(who, dir).await?
        {
            origin.directory = None;
        }
        let read = self.blobs.read(&version.sha256, None).await?;
        let staged = self.stage(read.stream, self.model_limit()).await?;
        Ok((staged, origin))
    }

    /// The first run id that names a run of `who`'s own: a claimed run of someone else's
    /// (even for an admin) is not lineage, since lineage shows its params to the version's
    /// readers.
    async fn trusted_run(
        &self,
        who: &Principal,
        candidates: [Option<String>; 2],
    ) -> Option<String> {
        for id in candidates.into_iter().flatten() {
            if self
                .own_run(who, &id)
                .await
                .is_ok_and(|r| r.owner_id == who.user_id)
            {
                return Some(id);
            }
        }
        None
    }
}
