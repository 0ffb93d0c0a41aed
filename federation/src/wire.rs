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
    /// This instance's manifest-signing key (`ed25519:<base64>`); Acumos peers have none.
    #[serde(default)]
    pub signing_key: Option<String>,
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
    #[serde(with = "dates")]
    pub created: DateTime<Utc>,
    #[serde(with = "dates")]
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
    #[serde(with = "dates")]
    pub created: DateTime<Utc>,
    #[serde(with = "dates")]
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
    /// Caravan extension: the content's SHA-256 (hex); Acumos peers send none.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(with = "dates")]
    pub created: DateTime<Utc>,
    #[serde(with = "dates")]
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

/// Dates as Caravan writes them (RFC 3339) and as Acumos gateways may (RFC 3339, or epoch
/// seconds or milliseconds as numbers, which Jackson's JavaTimeModule also produces).
mod dates {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(date: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&date.to_rfc3339())
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Text(text) => DateTime::parse_from_rfc3339(&text)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| D::Error::custom(format!("date {text:?}: {e}"))),
            Raw::Number(n) => {
                // Past 1e11 seconds (year 5138) it can only be milliseconds.
                let millis = if n.abs() >= 1e11 { n } else { n * 1000.0 };
                DateTime::from_timestamp_millis(millis as i64)
                    .ok_or_else(|| D::Error::custom(format!("date {n} is out of range")))
            }
        }
    }
}
