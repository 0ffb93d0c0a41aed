//! Onboarding an Acumos model bundle: its metadata and .proto checked against each other, its
//! `model.zip` checked without being unpacked, its parts stored as pushed in one zip, and the
//! version recorded as an Acumos bundle. Nothing in it is ever unpickled or run. A stored
//! bundle that arrives from a peer goes through the same checks.

use std::io::{Read, Seek};

use caravan_domain::records::{ModelPatch, Published};
use caravan_domain::{AcumosInterface, ArtifactFormat, ModelInfo, ModelName, Principal, Scope};

use super::{bundle, metadata, metadata::BundleMetadata};
use crate::{Core, CoreError, Result, Staged, auth::require};

/// A bundle's parts, as pushed to `/onboarding-app/v2/models` or fetched from an Acumos peer.
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

/// Every check of a bundle's parts, and what Caravan records about it.
fn inspect_parts<R: Read + Seek>(
    metadata_json: &[u8],
    proto: &[u8],
    license: Option<&[u8]>,
    model_zip: R,
    packed: u64,
) -> std::result::Result<(BundleMetadata, ModelInfo), String> {
    let meta = metadata::parse(metadata_json)?;
    let proto = String::from_utf8(proto.to_vec())
        .map_err(|_| "model.proto is not UTF-8 text".to_owned())?;
    metadata::check_proto(&meta, &proto)?;
    let license = license.map(bundle::license_name).transpose()?;
    bundle::check_model_zip(model_zip, packed)?;
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
            license,
        }),
        ..Default::default()
    };
    Ok((meta, info))
}

/// Whether a staged artifact is a zip (a stored Acumos bundle) rather than an ONNX protobuf,
/// which never starts with a zip's signature.
pub(crate) fn is_zip(staged: &Staged) -> Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(staged.path()).map_err(CoreError::internal)?;
    Ok(file.read(&mut magic).map_err(CoreError::internal)? == 4 && magic == *b"PK\x03\x04")
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
        let zip_path = upload.model_zip.path().to_owned();
        let packed = upload.model_zip.size();
        let (metadata, proto, license) = (
            upload.metadata.clone(),
            upload.proto.clone(),
            upload.license.clone(),
        );
        let (meta, info) = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&zip_path).map_err(CoreError::internal)?;
            let reader = std::io::BufReader::new(file);
            inspect_parts(&metadata, &proto, license.as_deref(), reader, packed).map_err(invalid)
        })
        .await
        .map_err(blocking_failed)??;
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
        let staged = self.stage_acumos_bundle(&upload).await?;
        if let Some(existing) = self.existing_version(who, &name, &staged).await? {
            return Ok((existing, meta));
        }
        let license = info.acumos.as_ref().and_then(|a| a.license.clone());
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

    /// The stored bundle of these parts (written beside the staged `model.zip`), staged.
    pub async fn stage_acumos_bundle(&self, upload: &BundleUpload) -> Result<Staged> {
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

    /// Checks a stored bundle (a peer's) as a push is checked; what Caravan records of it.
    pub(crate) async fn inspect_stored_bundle(&self, staged: &Staged) -> Result<ModelInfo> {
        let path = staged.path().to_owned();
        let size = staged.size();
        tokio::task::spawn_blocking(move || {
            let open = || std::fs::File::open(&path).map_err(CoreError::internal);
            let part = |name: &str, limit: usize| {
                bundle::read_part(std::io::BufReader::new(open()?), name, limit as u64 + 1)
                    .map_err(|e| invalid(format!("the bundle has no readable {name}: {e}")))
                    .and_then(|bytes| match bytes.len() > limit {
                        true => Err(invalid(format!("the bundle's {name} is too large"))),
                        false => Ok(bytes),
                    })
            };
            let metadata_json = part(bundle::METADATA_JSON, metadata::MAX_METADATA)?;
            let proto = part(bundle::MODEL_PROTO, super::proto::MAX_PROTO)?;
            let license = part(bundle::LICENSE_JSON, bundle::MAX_LICENSE).ok();
            // The inner model.zip, copied out (bounded by the bundle's size) to be read as a zip.
            let dir = path
                .parent()
                .ok_or_else(|| CoreError::internal("no staging directory"))?;
            let mut inner = tempfile::tempfile_in(dir).map_err(CoreError::internal)?;
            let packed = bundle::copy_part(
                std::io::BufReader::new(open()?),
                bundle::MODEL_ZIP,
                size,
                &mut inner,
            )
            .map_err(|e| invalid(format!("the bundle has no readable model.zip: {e}")))?;
            inner.rewind().map_err(CoreError::internal)?;
            inspect_parts(
                &metadata_json,
                &proto,
                license.as_deref(),
                std::io::BufReader::new(inner),
                packed,
            )
            .map(|(_, info)| info)
            .map_err(|e| CoreError::Refused(format!("the peer's Acumos bundle was refused: {e}")))
        })
        .await
        .map_err(blocking_failed)?
    }
}
