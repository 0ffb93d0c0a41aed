//! What a peer may see: public local models and models shared with it, nothing else. Every
//! model a peer is shown is remembered, so that its withdrawal reaches that peer.

use caravan_domain::Subject;
use caravan_domain::records::{
    ChangeSet, FederatedCatalog, ModelRecord, PeerRecord, VersionRecord,
};
use uuid::Uuid;

use crate::{Core, CoreError, Result};

fn not_found(what: &str, id: Uuid) -> CoreError {
    CoreError::not_found(Subject::Other, format!("No {what} with id {id}"))
}

impl Core {
    async fn shown(&self, peer: &PeerRecord, models: &[ModelRecord]) -> Result<()> {
        let ids: Vec<Uuid> = models.iter().map(|m| m.id).collect();
        if !ids.is_empty() {
            self.catalog.record_exports(peer.id, &ids).await?;
        }
        Ok(())
    }

    /// The models of one of this instance's catalogs, as `peer` sees it.
    #[tracing::instrument(skip_all)]
    pub async fn peer_catalog(
        &self,
        peer: &PeerRecord,
        catalog: FederatedCatalog,
    ) -> Result<Vec<ModelRecord>> {
        let models = self.catalog.federated_models(peer.id, catalog).await?;
        self.shown(peer, &models).await?;
        Ok(models)
    }

    /// What changed in a catalog for `peer` after `cursor`.
    #[tracing::instrument(skip_all)]
    pub async fn peer_changes(
        &self,
        peer: &PeerRecord,
        catalog: FederatedCatalog,
        cursor: i64,
    ) -> Result<ChangeSet> {
        let changes = self.catalog.changes_since(peer.id, catalog, cursor).await?;
        self.shown(peer, &changes.models).await?;
        Ok(changes)
    }

    /// A model and its versions (newest first), if `peer` may see it.
    #[tracing::instrument(skip_all)]
    pub async fn peer_model(
        &self,
        peer: &PeerRecord,
        id: Uuid,
    ) -> Result<(ModelRecord, Vec<VersionRecord>)> {
        let model = self
            .catalog
            .federated_model(peer.id, id)
            .await?
            .ok_or_else(|| not_found("solution", id))?;
        self.shown(peer, std::slice::from_ref(&model)).await?;
        let versions = self.catalog.versions(model.id).await?;
        Ok((model, versions))
    }

    /// An artifact (a version's ONNX file), if `peer` may see its model.
    #[tracing::instrument(skip_all)]
    pub async fn peer_artifact(
        &self,
        peer: &PeerRecord,
        artifact_id: Uuid,
    ) -> Result<(ModelRecord, VersionRecord)> {
        let (model_id, number) = self
            .catalog
            .version_by_artifact(artifact_id)
            .await?
            .ok_or_else(|| not_found("artifact", artifact_id))?;
        let model = self
            .catalog
            .federated_model(peer.id, model_id)
            .await?
            .ok_or_else(|| not_found("artifact", artifact_id))?;
        let version = self
            .catalog
            .version(model_id, number)
            .await?
            .ok_or_else(|| not_found("artifact", artifact_id))?;
        Ok((model, version))
    }
}
