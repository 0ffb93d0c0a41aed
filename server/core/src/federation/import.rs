//! Importing a version from a peer, after its bytes were checked against the signed
//! manifest (or, from a legacy Acumos peer, against the size it announced): validated again
//! with ONNX Runtime (or, for an Acumos bundle, inspected as a push is, never run), stored,
//! and recorded with its provenance in one transaction, so a crash leaves either the whole
//! version or nothing. A version without a manifest is recorded as unverified.

use caravan_domain::ModelName;
use caravan_domain::records::{
    Actor, ImportProvenance, ModelPatch, NewVersion, PeerRecord, Published, SubscriptionRecord,
};
use uuid::Uuid;

use crate::{Core, CoreError, Result, Staged};

/// A remote version, as the peer described it and its manifest vouched for it.
#[derive(Debug, Clone)]
pub struct RemoteVersion {
    pub solution_id: Uuid,
    pub name: String,
    pub description: String,
    pub card: Option<String>,
    pub tags: Vec<String>,
    pub license: Option<String>,
    pub revision_id: Uuid,
    pub artifact_id: Uuid,
    /// The signed manifest (base64 of its bytes) and signature, kept as evidence; both empty
    /// for an unverified revision from a legacy Acumos peer.
    pub manifest: String,
    pub signature: String,
}

impl Core {
    async fn subscription_owner(&self, subscription: &SubscriptionRecord) -> Result<Actor> {
        let owner = self.active_user(subscription.owner_id).await?;
        Ok(Actor {
            user_id: owner.id,
            username: owner.username,
        })
    }

    /// Imports a verified version as `<peer>:<remote name>`.
    #[tracing::instrument(skip_all, fields(peer = %peer.name, remote = %remote.name))]
    pub async fn import_version(
        &self,
        peer: &PeerRecord,
        subscription: &SubscriptionRecord,
        remote: RemoteVersion,
        staged: Staged,
    ) -> Result<Published> {
        let name = ModelName::imported(&peer.name, &remote.name).map_err(|e| {
            CoreError::Invalid(format!("remote model name {:?}: {}", remote.name, e.0))
        })?;
        // Only a peer marked as a legacy Acumos gateway may send a revision without a signed
        // manifest (the sync worker checks it; this holds the rule where the record is made).
        if remote.manifest.is_empty() && !peer.legacy_acumos {
            return Err(CoreError::Refused(
                "the revision carries no signed manifest".into(),
            ));
        }
        let info = if crate::acumos::publish::is_zip(&staged)? {
            self.inspect_stored_bundle(&staged).await?
        } else {
            self.validator
                .validate(staged.path(), staged.size())
                .await
                .map_err(|e| crate::onboard::refused(e, "the peer's model was refused"))?
        };
        let metadata = crate::models::check_patch(ModelPatch {
            description: Some(remote.description.chars().take(2_000).collect()),
            card: remote.card,
            tags: Some(remote.tags.into_iter().take(20).collect()),
            license: Some(remote.license),
            visibility: Some(subscription.visibility),
        })
        .unwrap_or_else(|_| ModelPatch {
            visibility: Some(subscription.visibility),
            ..Default::default()
        });
        let new = NewVersion {
            model: name,
            metadata,
            sha256: staged.sha256().to_owned(),
            size: staged.size() as i64,
            info,
            require_owner: None,
            import: Some(ImportProvenance {
                peer_id: peer.id,
                remote_solution_id: remote.solution_id,
                remote_name: remote.name,
                remote_revision_id: remote.revision_id,
                remote_artifact_id: remote.artifact_id,
                manifest: remote.manifest,
                signature: remote.signature,
                subscription_id: Some(subscription.id),
            }),
        };
        let owner = self.subscription_owner(subscription).await?;
        let published = self
            .store_then_record(&staged, || async {
                Ok(self.catalog.publish_version(new, &owner).await?)
            })
            .await;
        if let (Ok(p), Some(serving)) = (&published, &self.serving) {
            serving.invalidate(p.model.name.as_str());
            self.announce(caravan_domain::records::Change::Model {
                name: p.model.name.to_string(),
            });
        }
        published
    }

    /// Marks the local copy of a remote model withdrawn; `false` if there is none or it
    /// already was. It stays, and is no longer served except through an alias.
    #[tracing::instrument(skip_all)]
    pub async fn withdraw_imported(
        &self,
        peer: &PeerRecord,
        subscription: &SubscriptionRecord,
        remote_solution_id: Uuid,
    ) -> Result<bool> {
        let Some(model_id) = self
            .catalog
            .imported_model(peer.id, remote_solution_id)
            .await?
        else {
            return Ok(false);
        };
        let owner = self.subscription_owner(subscription).await?;
        let withdrawn = self.catalog.withdraw_model(model_id, &owner).await?;
        if withdrawn
            && let (Some(serving), Some(model)) =
                (&self.serving, self.catalog.model_by_id(model_id).await?)
        {
            serving.invalidate(model.name.as_str());
            self.announce(caravan_domain::records::Change::Model {
                name: model.name.to_string(),
            });
            tracing::warn!(model = %model.name, peer = %peer.name, "withdrawn upstream; served only through its aliases");
        }
        Ok(withdrawn)
    }

    /// Has this remote revision been imported already?
    #[tracing::instrument(skip_all)]
    pub async fn imported_revision(
        &self,
        peer: &PeerRecord,
        remote_revision_id: Uuid,
    ) -> Result<bool> {
        Ok(self
            .catalog
            .imported_revision(peer.id, remote_revision_id)
            .await?
            .is_some())
    }
}
