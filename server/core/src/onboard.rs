//! Onboarding a model version: validate, store the blob, record the version.

use caravan_domain::Subject;
use caravan_domain::records::{ModelPatch, NewVersion, Published};
use caravan_domain::{ModelName, Principal, Scope};
use caravan_inference::ValidationError;

use crate::{
    Core, CoreError, Result, Staged,
    auth::{actor, require},
    models::check_patch,
};

/// An upload ready to onboard: the staged file and the metadata sent with it.
pub struct Upload {
    pub name: ModelName,
    pub metadata: ModelPatch,
    pub staged: Staged,
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
        if let Some(model) = self.catalog.model_by_name(&upload.name).await? {
            if !who.can_see(model.owner_id, model.visibility) {
                return Err(CoreError::not_found(
                    Subject::Model,
                    format!("model {} not found", upload.name),
                ));
            }
            if !who.can_manage(model.owner_id) {
                return Err(CoreError::Forbidden(format!(
                    "only the owner of {} can publish versions of it",
                    upload.name
                )));
            }
            let versions = self.catalog.versions(model.id).await?;
            if let Some(version) = versions.into_iter().find(|v| v.sha256 == staged.sha256()) {
                return Ok(Published {
                    model,
                    version,
                    created: false,
                });
            }
        }
        let started = std::time::Instant::now();
        let info = self
            .validator
            .validate(staged.path(), staged.size())
            .await
            .map_err(|e| refused(e, "the model was refused"))?;
        let validated = started.elapsed();
        let new = NewVersion {
            model: upload.name.clone(),
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
}

/// A validation that did not accept the model: the model's fault (422, saying why), or
/// validation's own failure (500).
pub(crate) fn refused(e: ValidationError, prefix: &str) -> CoreError {
    match e {
        ValidationError::Refused(reason) => CoreError::Refused(format!("{prefix}: {reason}")),
        ValidationError::Failed(reason) => CoreError::internal(reason),
    }
}
