//! The E5 answers, built from what core lets a peer see: solutions, revisions with their
//! signed manifests, and artifacts.

use std::sync::Arc;

use caravan_domain::records::{FederatedCatalog, ModelRecord, VersionRecord};

use crate::{
    manifest::{InstanceKey, Manifest, ManifestArtifact, SCHEMA},
    wire::{
        Artifact, Catalog, MODEL_ARTIFACT, PUBLIC_CATALOG, PeerInfo, Revision, SHARED_CATALOG,
        Solution, Tag,
    },
};

/// This instance as peers see it.
#[derive(Clone)]
pub struct Instance {
    pub name: String,
    /// Base URL of this instance's federation listener, for artifact URIs.
    pub api_url: String,
    pub key: Arc<InstanceKey>,
}

/// `catalogId` to catalog.
pub fn parse_catalog(id: &str) -> Option<FederatedCatalog> {
    match id {
        PUBLIC_CATALOG => Some(FederatedCatalog::Public),
        SHARED_CATALOG => Some(FederatedCatalog::Shared),
        _ => None,
    }
}

impl Instance {
    pub fn ping(&self) -> PeerInfo {
        PeerInfo {
            name: self.name.clone(),
            api_url: self.api_url.clone(),
            signing_key: Some(self.key.public_key()),
            status_code: "AC".into(),
        }
    }

    pub fn catalogs(&self, public: usize, shared: usize) -> Vec<Catalog> {
        vec![
            Catalog {
                catalog_id: PUBLIC_CATALOG.into(),
                name: format!("{} public models", self.name),
                access_type_code: "PB".into(),
                size: public,
            },
            Catalog {
                catalog_id: SHARED_CATALOG.into(),
                name: format!("Shared by {} with you", self.name),
                access_type_code: "RS".into(),
                size: shared,
            },
        ]
    }

    pub fn solution(&self, model: &ModelRecord, versions: Option<&[VersionRecord]>) -> Solution {
        Solution {
            solution_id: model.id,
            name: model.name.to_string(),
            description: model.description.clone(),
            tags: model.tags.iter().map(|t| Tag { tag: t.clone() }).collect(),
            toolkit_type_code: "ON".into(),
            model_type_code: "PR".into(),
            active: true,
            card: Some(model.card.clone()),
            license: model.license.clone(),
            created: model.created_at.0,
            modified: model.updated_at.0,
            revisions: versions
                .map(|vs| vs.iter().map(|v| self.revision(model, v, false)).collect()),
        }
    }

    /// A revision; with `details`, its artifacts and signed manifest.
    pub fn revision(
        &self,
        model: &ModelRecord,
        version: &VersionRecord,
        details: bool,
    ) -> Revision {
        Revision {
            revision_id: version.revision_id,
            solution_id: model.id,
            version: version.version.to_string(),
            description: version.info.doc_string.clone(),
            created: version.created_at.0,
            modified: version.created_at.0,
            artifacts: details.then(|| vec![self.artifact(model, version)]),
            manifest: details.then(|| self.key.sign(&self.manifest(model, version))),
        }
    }

    pub fn artifact(&self, model: &ModelRecord, version: &VersionRecord) -> Artifact {
        Artifact {
            artifact_id: version.artifact_id,
            artifact_type_code: MODEL_ARTIFACT.into(),
            name: model.name.to_string(),
            // A stored Acumos bundle travels as its zip (the importer inspects it, never runs it).
            filename: format!(
                "{}-v{}.{}",
                model.name,
                version.version,
                if version.info.format.is_onnx() {
                    "onnx"
                } else {
                    "zip"
                }
            ),
            version: version.version.to_string(),
            size: version.size as u64,
            uri: format!("{}/artifacts/{}/content", self.api_url, version.artifact_id),
            sha256: Some(version.sha256.clone()),
            created: version.created_at.0,
            modified: version.created_at.0,
        }
    }

    pub fn manifest(&self, model: &ModelRecord, version: &VersionRecord) -> Manifest {
        Manifest {
            schema: SCHEMA.into(),
            issuer: self.name.clone(),
            solution_id: model.id,
            solution_name: model.name.to_string(),
            revision_id: version.revision_id,
            version: version.version.to_string(),
            artifacts: vec![ManifestArtifact {
                artifact_id: version.artifact_id,
                artifact_type_code: MODEL_ARTIFACT.into(),
                sha256: version.sha256.clone(),
                size: version.size as u64,
            }],
            signed_at: chrono::Utc::now(),
        }
    }
}
