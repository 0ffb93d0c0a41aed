//! Onboarding an Acumos model bundle: its metadata and .proto checked against each other, its
//! `model.zip` checked without being unpacked, its parts stored as pushed in one zip, and the
//! version recorded as an Acumos bundle. Nothing in it is ever unpickled or run.

use caravan_domain::records::{ModelPatch, Published};
use caravan_domain::{AcumosInterface, ArtifactFormat, ModelInfo, ModelName, Principal, Scope};

use super::{bundle, metadata, metadata::BundleMetadata};
use crate::{Core, CoreError, Result, Staged, auth::require};

/// A bundle as pushed to `/onboarding-app/v2/models`.
pub struct BundleUpload {
    pub model_zip: Staged,
    pub metadata: Vec<u8>,
    pub proto: Vec<u8>,
    pub license: Option<Vec<u8>>,
}

fn invalid(e: String) -> CoreError {
    CoreError::Invalid(e)
}

fn blocking_failed(e: tokio::task::JoinError) -> CoreError {
    CoreError::internal(e)
}

impl Core {
    /// Records a bundle as a version of the model its `metadata.json` names; the same bundle
    /// pushed again answers the existing version.
    #[tracing::instrument(skip_all, fields(user = %who.username))]
    pub async fn onboard_bundle(
        &self,
        who: &Principal,
        upload: BundleUpload,
    ) -> Result<(Published, BundleMetadata)> {
        require(who, Scope::Publish)?;
        let meta = metadata::parse(&upload.metadata).map_err(invalid)?;
        let proto = String::from_utf8(upload.proto.clone())
            .map_err(|_| invalid("model.proto is not UTF-8 text".into()))?;
        metadata::check_proto(&meta, &proto).map_err(invalid)?;
        let license = match &upload.license {
            Some(bytes) => Some(bundle::license_name(bytes).map_err(invalid)?),
            None => None,
        };
        let name = ModelName::parse(&meta.name).map_err(|e| {
            invalid(format!(
                "metadata.json's name {:?} is not a model name: {}",
                meta.name, e.0
            ))
        })?;
        if name.is_imported() {
            return Err(invalid(
                "':' is reserved for models imported from peers".into(),
            ));
        }
        let zip_path = upload.model_zip.path().to_owned();
        let packed = upload.model_zip.size();
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&zip_path).map_err(CoreError::internal)?;
            bundle::check_model_zip(std::io::BufReader::new(file), packed).map_err(invalid)
        })
        .await
        .map_err(blocking_failed)??;
        let staged = self.stage_bundle(&upload).await?;
        if let Some(existing) = self.existing_version(who, &name, &staged).await? {
            return Ok((existing, meta));
        }
        let info = ModelInfo {
            format: ArtifactFormat::AcumosBundle,
            producer_name: "acumos".into(),
            producer_version: meta.schema.clone(),
            graph_name: meta.name.clone(),
            doc_string: meta
                .methods
                .iter()
                .map(|m| m.description.as_str())
                .find(|d| !d.is_empty())
                .unwrap_or_default()
                .to_owned(),
            acumos: Some(AcumosInterface {
                methods: meta.methods.clone(),
                proto,
                schema: Some(meta.schema.clone()),
                runtime: Some(meta.runtime.clone()).filter(|r| !r.is_empty()),
                requirements: meta.requirements.clone(),
                license: license.clone(),
            }),
            ..Default::default()
        };
        let patch = ModelPatch {
            license: license.map(Some),
            ..Default::default()
        };
        let published = self.record_version(who, name, patch, &staged, info).await?;
        tracing::info!(
            model = %published.model.name,
            version = published.version.version,
            bytes = staged.size(),
            "Acumos bundle onboarded"
        );
        Ok((published, meta))
    }

    /// Writes the stored bundle beside the staged `model.zip` and stages it.
    async fn stage_bundle(&self, upload: &BundleUpload) -> Result<Staged> {
        let dir = upload
            .model_zip
            .path()
            .parent()
            .ok_or_else(|| CoreError::internal("a staged file has no directory"))?
            .to_owned();
        let model_zip = upload.model_zip.path().to_owned();
        let (metadata, proto, license) = (
            upload.metadata.clone(),
            upload.proto.clone(),
            upload.license.clone(),
        );
        let file = tokio::task::spawn_blocking(move || {
            let mut file = tempfile::NamedTempFile::new_in(&dir)?;
            let parts = bundle::BundleParts {
                model_zip: &model_zip,
                metadata: &metadata,
                proto: &proto,
                license: license.as_deref(),
            };
            bundle::write_bundle(std::io::BufWriter::new(file.as_file_mut()), &parts)?;
            Ok::<_, std::io::Error>(file.into_temp_path())
        })
        .await
        .map_err(blocking_failed)?
        .map_err(CoreError::internal)?;
        self.stager().stage_file(&file, self.model_limit()).await
    }
}
