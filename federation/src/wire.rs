//! The E5 wire format: Acumos's federation gateway paths, envelope and field names, with
//! Caravan's extensions (`sha256` on artifacts, change feeds, signed manifests).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::manifest::SignedManifest;

/// Every JSON answer: `{"error", "message", "content"}` (acumos-fgw-client JsonResponse).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub error: Option<String>,
    pub message: Option<String>,
    pub content: Option<T>,
}

impl<T> Envelope<T> {
    pub fn ok(content: T) -> Self {
        Envelope {
            error: None,
            message: None,
            content: Some(content),
        }
    }
}

impl Envelope<()> {
    pub fn error(error: impl Into<String>) -> Self {
        Envelope {
            error: Some(error.into()),
            message: None,
            content: None,
        }
    }
}

/// The catalog of public models; each peer also sees `SHARED_CATALOG`, what is shared with it.
pub const PUBLIC_CATALOG: &str = "public";
pub const SHARED_CATALOG: &str = "shared";

/// `/ping`: who this instance is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    pub name: String,
    pub api_url: String,
    /// This instance's manifest-signing key (`ed25519:<base64>`).
    pub signing_key: String,
    pub status_code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub catalog_id: String,
    pub name: String,
    /// `PB` public, `RS` restricted (shared with the caller).
    pub access_type_code: String,
    pub size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tag {
    pub tag: String,
}

/// A model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Solution {
    pub solution_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// `ON`: ONNX.
    #[serde(default)]
    pub toolkit_type_code: String,
    #[serde(default)]
    pub model_type_code: String,
    #[serde(default)]
    pub active: bool,
    /// Caravan extension: the model card (Markdown) and SPDX license.
    #[serde(default)]
    pub card: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    /// With `GET /solutions/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<Revision>>,
}

/// A version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision_id: Uuid,
    pub solution_id: Uuid,
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    /// With `GET /solutions/{sid}/revisions/{rid}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Caravan extension, with `GET /solutions/{sid}/revisions/{rid}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<SignedManifest>,
}

/// A file of a version: the ONNX model is type `MI` (model image).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub artifact_id: Uuid,
    pub artifact_type_code: String,
    pub name: String,
    pub filename: String,
    pub version: String,
    pub size: u64,
    pub uri: String,
    /// Caravan extension: the content's SHA-256 (hex).
    pub sha256: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// Caravan extension, `GET /solutions?catalogId=..&since=N`: what changed after cursor N.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    pub solutions: Vec<Solution>,
    /// Solutions the caller saw before and may no longer see (withdrawn, deleted, unshared).
    pub withdrawn: Vec<Uuid>,
    /// Pass as `since` next time.
    pub cursor: i64,
}

/// The artifact type of ONNX models.
pub const MODEL_ARTIFACT: &str = "MI";
