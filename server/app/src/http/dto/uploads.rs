//! Resumable uploads.

use caravan_core::UploadProgress;
use caravan_domain::records::UploadPart;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ModelMetadata;

/// Opening an upload: what will be sent.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// The model the file becomes a version of (created on its first version).
    pub model: String,
    /// The file's size in bytes.
    pub size: u64,
    /// The file's SHA-256 (hex); when given, completion refuses other bytes.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Bytes per part (4 KiB to 256 MiB; default 16 MiB, more for files past 10,000 parts).
    #[serde(default)]
    pub part_size: Option<u64>,
}

/// Completing an upload: the metadata a push would send.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteUpload {
    #[serde(default)]
    pub metadata: Option<ModelMetadata>,
}

/// A part received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Part {
    /// The part's number, from 1.
    pub n: i64,
    pub size: i64,
    pub sha256: String,
}

impl From<UploadPart> for Part {
    fn from(p: UploadPart) -> Self {
        Part {
            n: p.n,
            size: p.size,
            sha256: p.sha256,
        }
    }
}

/// An upload and what it has received: a client resumes by sending the parts missing here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Upload {
    pub id: Uuid,
    pub model: String,
    pub size: i64,
    pub sha256: Option<String>,
    pub part_size: i64,
    /// How many parts the file takes: send parts 1 to `parts`, in any order.
    pub parts: i64,
    /// `open` (taking parts), `completing` or `done`.
    pub state: String,
    /// The parts received, by number.
    pub received: Vec<Part>,
    /// Once done: the version the file became.
    pub version: Option<i64>,
    /// When the upload is deleted if nothing more arrives.
    pub expires_at: DateTime<Utc>,
}

impl From<UploadProgress> for Upload {
    fn from(p: UploadProgress) -> Self {
        let u = p.upload;
        Upload {
            id: u.id,
            model: u.model.to_string(),
            size: u.size,
            sha256: u.sha256.clone(),
            part_size: u.part_size,
            parts: u.part_count(),
            state: u.state.as_str().to_owned(),
            received: p.parts.into_iter().map(Into::into).collect(),
            version: u.version,
            expires_at: u.expires_at.0,
        }
    }
}

/// The multipart form of a push (described for clients; the handler streams its parts).
#[derive(ToSchema)]
pub struct PushForm {
    /// The .onnx file.
    #[schema(value_type = String, format = Binary)]
    pub model: Vec<u8>,
    /// JSON: description, card, tags, license, visibility.
    pub metadata: Option<String>,
}

/// The multipart form of a dataset version.
#[derive(ToSchema)]
pub struct DatasetForm {
    /// The CSV file.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// What changed in this version.
    pub description: Option<String>,
}

/// Raw bytes (a part of a resumable upload).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Bytes(pub Vec<u8>);
