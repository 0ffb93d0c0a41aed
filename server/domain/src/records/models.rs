//! Plain data going in and out of the catalog. Handlers map these to their own DTOs; rows are
//! never serialized to clients directly.

use std::collections::BTreeSet;

use crate::{ModelInfo, ModelName, Role, Scope, Visibility};
use uuid::Uuid;

use super::Timestamp;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub password_changed_at: Timestamp,
}

/// A user about to be created.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub role: Role,
    pub password_hash: String,
}

/// An API token. The secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The first characters of the secret, so a user can recognise a token in a list.
    pub prefix: String,
    pub scopes: BTreeSet<Scope>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A token about to be created.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub secret_sha256: String,
    pub scopes: BTreeSet<Scope>,
    pub expires_at: Option<Timestamp>,
}

/// A model (the versioned thing users find in the catalog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRecord {
    pub id: Uuid,
    pub name: ModelName,
    pub owner_id: Uuid,
    pub owner: String,
    pub description: String,
    pub card: String,
    pub tags: Vec<String>,
    pub license: Option<String>,
    pub visibility: Visibility,
    pub downloads: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The newest existing version, if any.
    pub latest_version: Option<i64>,
    /// Set when the peer this model was imported from withdrew it.
    pub withdrawn_at: Option<Timestamp>,
}

/// Editable model metadata; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelPatch {
    pub description: Option<String>,
    pub card: Option<String>,
    pub tags: Option<Vec<String>>,
    pub license: Option<Option<String>>,
    pub visibility: Option<Visibility>,
}

impl ModelPatch {
    pub fn is_empty(&self) -> bool {
        *self == ModelPatch::default()
    }
}

/// One immutable version of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    pub model_id: Uuid,
    pub version: i64,
    /// Stable federation ids of this version (a revision) and of its ONNX file (an artifact).
    pub revision_id: Uuid,
    pub artifact_id: Uuid,
    pub sha256: String,
    pub size: i64,
    pub info: ModelInfo,
    pub created_by: String,
    pub created_at: Timestamp,
    /// Its release notes, editable by whoever may change the model.
    pub description: String,
}

/// Key/value properties of a model and of its versions (MLflow calls them tags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    pub model: std::collections::BTreeMap<String, String>,
    pub versions: std::collections::BTreeMap<i64, std::collections::BTreeMap<String, String>>,
}

impl Properties {
    /// A version's properties (none if it has none).
    pub fn of_version(&self, version: i64) -> std::collections::BTreeMap<String, String> {
        self.versions.get(&version).cloned().unwrap_or_default()
    }
}

/// An alias and the version it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    pub alias: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: Timestamp,
}

/// Who performs a write, for ownership and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub username: String,
}

/// A request to add a version, creating the model on its first version.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub model: ModelName,
    /// Metadata for a model created by this call; applied as a patch to an existing model.
    pub metadata: ModelPatch,
    pub sha256: String,
    pub size: i64,
    pub info: ModelInfo,
    /// When set, an existing model must be owned by this user (checked inside the transaction,
    /// so a model created concurrently by someone else is not appended to).
    pub require_owner: Option<Uuid>,
    /// Where an imported version came from (recorded in the same transaction).
    pub import: Option<ImportProvenance>,
}

/// The origin of a version imported from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProvenance {
    pub peer_id: Uuid,
    pub remote_solution_id: Uuid,
    pub remote_name: String,
    pub remote_revision_id: Uuid,
    pub remote_artifact_id: Uuid,
    /// The signed manifest (base64 of its exact bytes) and its signature (base64).
    pub manifest: String,
    pub signature: String,
    /// The subscription that imported it: its count of imports goes up in the same
    /// transaction, so a pass cut short still counts what it imported.
    pub subscription_id: Option<Uuid>,
}

/// What [`ModelRepo::publish_version`] did.
#[derive(Debug, Clone)]
pub struct Published {
    pub model: ModelRecord,
    pub version: VersionRecord,
    /// False when the model already had a version with these exact bytes (a safe retry).
    pub created: bool,
}

/// Sort orders for model lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelSort {
    /// Best full-text match first (only with a query; otherwise `Updated`).
    #[default]
    Relevance,
    Name,
    Updated,
    Downloads,
}

/// Who is looking: lists only show what this viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    User { id: Uuid, admin: bool },
}

/// A catalog search.
#[derive(Debug, Clone)]
pub struct ModelQuery {
    pub viewer: Viewer,
    pub text: Option<String>,
    pub tag: Option<String>,
    pub visibility: Option<Visibility>,
    pub sort: ModelSort,
    /// `None` means the sort's natural direction: names A-Z, newest and most downloaded first.
    pub descending: Option<bool>,
    pub limit: u32,
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: Timestamp,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

/// An audit entry about to be written (inside the transaction of the change it records).
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

impl NewAudit {
    pub fn new(actor: &Actor, action: &str, target: impl Into<String>) -> Self {
        Self {
            actor: Some(actor.username.clone()),
            action: action.to_owned(),
            target: target.into(),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}
