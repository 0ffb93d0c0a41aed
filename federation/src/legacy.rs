//! Importing from a peer an admin marked as a legacy Acumos federation gateway, which
//! publishes no digest and signs nothing: each artifact's bytes are checked against the size
//! its E5 metadata announces, an ONNX file is validated by ONNX Runtime as any push is, an
//! Acumos bundle (`model.zip`, `metadata.json`, `model.proto`, a license) is inspected and
//! catalogued as a push is (never run), and the version is recorded as unverified.

use caravan_core::{Core, Staged, acumos::BundleUpload};
use caravan_domain::records::{PeerRecord, SubscriptionRecord};

use crate::{
    client::PeerClient,
    sync::{Refusal, SyncError, SyncSettings, classify_client, classify_core, remote_version},
    wire::{Artifact, MODEL_ARTIFACT, Revision, Solution},
};

/// Acumos's artifact type codes for what a bundle needs besides its model files.
const METADATA_ARTIFACT: &str = "MD";
const PROTOBUF_ARTIFACT: &str = "PJ";
const LICENSE_ARTIFACT: &str = "LI";

type Outcome<T> = Result<Result<T, Refusal>, SyncError>;

/// Downloads an artifact, refusing it past `max` bytes and unless it has exactly the size
/// the peer announced.
async fn fetch(core: &Core, client: &PeerClient, artifact: &Artifact, max: u64) -> Outcome<Staged> {
    if artifact.size > max {
        return Ok(Err(Refusal(format!(
            "{} is larger than {max} bytes",
            artifact.filename
        ))));
    }
    let staged = match client
        .download(artifact.artifact_id, core, artifact.size)
        .await
    {
        Ok(staged) => staged,
        Err(e) => return Ok(Err(classify_client(e)?)),
    };
    if staged.size() != artifact.size {
        return Ok(Err(Refusal(format!(
            "{} has {} bytes; its E5 metadata says {}",
            artifact.filename,
            staged.size(),
            artifact.size
        ))));
    }
    Ok(Ok(staged))
}

async fn fetch_small(
    core: &Core,
    client: &PeerClient,
    artifact: &Artifact,
    max: usize,
) -> Outcome<Vec<u8>> {
    let staged = match fetch(core, client, artifact, max as u64).await? {
        Ok(staged) => staged,
        Err(refusal) => return Ok(Err(refusal)),
    };
    match tokio::fs::read(staged.path()).await {
        Ok(bytes) => Ok(Ok(bytes)),
        Err(e) => Err(SyncError::Local(caravan_core::CoreError::internal(e))),
    }
}

fn ends(a: &Artifact, suffix: &str) -> bool {
    a.filename.to_ascii_lowercase().ends_with(suffix)
}

/// Fetches what a legacy revision holds and imports it, unverified.
pub(crate) async fn import_unverified(
    core: &Core,
    client: &PeerClient,
    peer: &PeerRecord,
    subscription: &SubscriptionRecord,
    solution: &Solution,
    revision: &Revision,
    settings: &SyncSettings,
) -> Outcome<()> {
    let artifacts = revision.artifacts.clone().unwrap_or_default();
    let find = |pred: &dyn Fn(&Artifact) -> bool| artifacts.iter().find(|a| pred(a)).cloned();
    let max = settings.max_artifact_bytes;
    let onnx = find(&|a| a.artifact_type_code == MODEL_ARTIFACT && ends(a, ".onnx"));
    let (main, staged) = if let Some(onnx) = onnx {
        match fetch(core, client, &onnx, max).await? {
            Ok(staged) => (onnx, staged),
            Err(refusal) => return Ok(Err(refusal)),
        }
    } else {
        let Some(model_zip) = find(&|a| a.artifact_type_code == MODEL_ARTIFACT && ends(a, ".zip"))
        else {
            return Ok(Err(Refusal(
                "the revision has neither an ONNX file nor an Acumos model.zip".into(),
            )));
        };
        let proto = find(&|a| {
            (a.artifact_type_code == MODEL_ARTIFACT || a.artifact_type_code == PROTOBUF_ARTIFACT)
                && ends(a, ".proto")
        });
        let metadata = find(&|a| a.artifact_type_code == METADATA_ARTIFACT);
        let (Some(proto), Some(metadata)) = (proto, metadata) else {
            return Ok(Err(Refusal(
                "the Acumos bundle lacks its model.proto or metadata.json".into(),
            )));
        };
        use caravan_core::acumos::{bundle, metadata as meta, proto as protos};
        let model = match fetch(core, client, &model_zip, max).await? {
            Ok(s) => s,
            Err(r) => return Ok(Err(r)),
        };
        let metadata = match fetch_small(core, client, &metadata, meta::MAX_METADATA).await? {
            Ok(b) => b,
            Err(r) => return Ok(Err(r)),
        };
        let proto = match fetch_small(core, client, &proto, protos::MAX_PROTO).await? {
            Ok(b) => b,
            Err(r) => return Ok(Err(r)),
        };
        let license = match find(&|a| a.artifact_type_code == LICENSE_ARTIFACT) {
            Some(l) => match fetch_small(core, client, &l, bundle::MAX_LICENSE).await? {
                Ok(b) => Some(b),
                Err(r) => return Ok(Err(r)),
            },
            None => None,
        };
        let upload = BundleUpload {
            model_zip: model,
            metadata,
            proto,
            license,
        };
        match core.stage_acumos_bundle(&upload).await {
            Ok(staged) => (model_zip, staged),
            Err(e) => return Ok(Err(classify_core(e)?)),
        }
    };
    let remote = remote_version(
        solution,
        revision.revision_id,
        main.artifact_id,
        String::new(),
        String::new(),
    );
    match core
        .import_version(peer, subscription, remote, staged)
        .await
    {
        Ok(published) => {
            tracing::warn!(peer = %peer.name, model = %published.model.name, version = published.version.version,
                "imported unverified from a legacy Acumos peer (no digest, no signed manifest)");
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(classify_core(e)?)),
    }
}
