//! Onboarding a model version: validate, store the blob, record the version.

use caravan_domain::{ConflictKind, Subject};
use std::time::Duration;

use caravan_domain::records::{ModelPatch, NewVersion, Published};
use caravan_domain::{ModelName, Principal, Scope};
use caravan_inference::ValidationError;
use caravan_storage::StagedBlob;

use crate::{
    Core, CoreError, Result,
    auth::{actor, require},
    models::check_patch,
};

/// An upload ready to onboard: the staged file and the metadata sent with it.
pub struct Upload {
    pub name: ModelName,
    pub metadata: ModelPatch,
    pub staged: StagedBlob,
}

impl Core {
    /// Adds a version to a model (creating the model on its first version). Identical bytes
    /// return the existing version with `created: false`; a refused model leaves no row and no
    /// blob behind.
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
            .map_err(|e| match e {
                ValidationError::Refused(reason) => {
                    CoreError::Refused(format!("the model was refused: {reason}"))
                }
                ValidationError::Failed(reason) => CoreError::internal(reason),
            })?;
        let validated = started.elapsed();
        let sha256 = staged.sha256().to_owned();
        self.reserve_blob(&sha256, staged.size()).await?;
        let new = NewVersion {
            model: upload.name.clone(),
            metadata,
            sha256: sha256.clone(),
            size: staged.size() as i64,
            info,
            require_owner: (!who.is_admin()).then_some(who.user_id),
            import: None,
        };
        let stored = match self.blobs.exists(&sha256).await {
            Ok(true) => Ok(()),
            Ok(false) => self.blobs.put_staged(staged).await,
            Err(e) => Err(e),
        };
        let published = match stored {
            Ok(()) => self
                .catalog
                .publish_version(new, &actor(who))
                .await
                .map_err(CoreError::from),
            Err(e) => Err(e.into()),
        };
        if let Ok(p) = &published
            && p.created
        {
            let data = serde_json::json!({
                "model": p.model.name.as_str(), "version": p.version.version,
                "sha256": p.version.sha256, "size": p.version.size, "by": who.username,
            });
            self.emit(crate::events::VERSION_CREATED, p.model.name.as_str(), data)
                .await;
        }
        match &published {
            Ok(p) => tracing::info!(
                model = %p.model.name,
                version = p.version.version,
                bytes = staged.size(),
                validate_ms = validated.as_millis() as u64,
                store_ms = (started.elapsed() - validated).as_millis() as u64,
                "version onboarded"
            ),
            Err(_) => {
                if let Err(e) = self.catalog.release_blob(&sha256).await {
                    tracing::warn!(error = %e, "could not release a blob reservation");
                }
                self.sweep_blob(&sha256).await;
            }
        }
        published
    }

    /// Reserves a blob for this push, waiting while a sweep finishes deleting it.
    pub(crate) async fn reserve_blob(&self, sha256: &str, size: u64) -> Result<()> {
        for _ in 0..100 {
            if self.catalog.reserve_blob(sha256, size as i64).await? {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(CoreError::conflict(
            ConflictKind::Contended,
            "the same bytes are being deleted right now; retry the upload",
        ))
    }
}
