//! Onboarding a model version: validate, store the blob, record the version.

use caravan_domain::Subject;
use caravan_domain::records::{ModelPatch, NewVersion, Published};
use caravan_domain::{AcumosInterface, ModelInfo, ModelName, Principal, Scope};
use caravan_inference::ValidationError;

use crate::{
    Core, CoreError, Result, Staged,
    acumos::RunnerSchema,
    auth::{actor, require},
    models::check_patch,
};

/// An upload ready to onboard: the staged file and the metadata sent with it.
pub struct Upload {
    pub name: ModelName,
    pub metadata: ModelPatch,
    pub staged: Staged,
    /// A .proto for the model-runner interface (Acumos `advancedModel`): it must name the
    /// model's tensors; without one the interface is generated from the signature.
    pub proto: Option<String>,
}

impl Core {
    /// Adds a version to a model (creating the model on its first version). Identical bytes
    /// return the existing version with `created: false`; a refused model leaves no row and no
    /// blob behind.
    #[tracing::instrument(skip_all, fields(model = %upload.name, user = %who.username))]
    pub async fn onboard(&self, who: &Principal, upload: Upload) -> Result<Published> {
        require(who, Scope::Publish)?;
        let metadata = check_patch(upload.metadata)?;
        let staged = &upload.staged;
        if let Some(existing) = self.existing_version(who, &upload.name, staged).await? {
            return Ok(existing);
        }
        let started = std::time::Instant::now();
        let mut info = self
            .validator
            .validate(staged.path(), staged.size())
            .await
            .map_err(|e| refused(e, "the model was refused"))?;
        if let Some(proto) = upload.proto {
            let supplied = AcumosInterface {
                proto,
                ..Default::default()
            };
            let schema = RunnerSchema::of(upload.name.as_str(), &info.signature, Some(&supplied))
                .map_err(|e| {
                CoreError::Refused(format!("the .proto does not fit the model: {e}"))
            })?;
            info.acumos = Some(schema.interface());
        }
        let validated = started.elapsed();
        let published = self
            .record_version(who, upload.name, metadata, staged, info)
            .await?;
        tracing::info!(
            model = %published.model.name,
            version = published.version.version,
            bytes = staged.size(),
            validate_ms = validated.as_millis() as u64,
            store_ms = (started.elapsed() - validated).as_millis() as u64,
            "version onboarded"
        );
        Ok(published)
    }

    /// The version of `name` with these exact bytes, if there is one (a safe retry), after
    /// checking that `who` may publish to the model.
    pub(crate) async fn existing_version(
        &self,
        who: &Principal,
        name: &ModelName,
        staged: &Staged,
    ) -> Result<Option<Published>> {
        let Some(model) = self.publishable(who, name).await? else {
            return Ok(None);
        };
        let versions = self.catalog.versions(model.id).await?;
        Ok(versions
            .into_iter()
            .find(|v| v.sha256 == staged.sha256())
            .map(|version| Published {
                model,
                version,
                created: false,
            }))
    }

    /// The model `name`, if it exists, after checking that `who` may publish versions of it.
    pub(crate) async fn publishable(
        &self,
        who: &Principal,
        name: &ModelName,
    ) -> Result<Option<caravan_domain::records::ModelRecord>> {
        let Some(model) = self.catalog.model_by_name(name).await? else {
            return Ok(None);
        };
        if !who.can_see(model.owner_id, model.visibility) {
            return Err(CoreError::not_found(
                Subject::Model,
                format!("model {name} not found"),
            ));
        }
        if !who.can_manage(model.owner_id) {
            return Err(CoreError::Forbidden(format!(
                "only the owner of {name} can publish versions of it"
            )));
        }
        Ok(Some(model))
    }

    /// Stores the staged blob and records it as a new version with `info` (the one protocol:
    /// store, then record; a failure leaves neither), announcing it.
    pub(crate) async fn record_version(
        &self,
        who: &Principal,
        name: ModelName,
        metadata: ModelPatch,
        staged: &Staged,
        info: ModelInfo,
    ) -> Result<Published> {
        let new = NewVersion {
            model: name,
            metadata,
            sha256: staged.sha256().to_owned(),
            size: staged.size() as i64,
            info,
            require_owner: (!who.is_admin()).then_some(who.user_id),
            import: None,
        };
        let published = self
            .store_then_record(staged, || async {
                Ok(self.catalog.publish_version(new, &actor(who)).await?)
            })
            .await?;
        if published.created {
            let data = serde_json::json!({
                "model": published.model.name.as_str(), "version": published.version.version,
                "sha256": published.version.sha256, "size": published.version.size,
                "by": who.username,
            });
            self.emit(
                crate::events::VERSION_CREATED,
                published.model.name.as_str(),
                data,
            )
            .await;
        }
        Ok(published)
    }
}

/// A validation that did not accept the model: the model's fault (422, saying why), or
/// validation's own failure (500).
pub(crate) fn refused(e: ValidationError, prefix: &str) -> CoreError {
    match e {
        ValidationError::Refused(reason) => CoreError::Refused(format!("{prefix}: {reason}")),
        ValidationError::Failed(reason) => CoreError::internal(reason),
    }
}
