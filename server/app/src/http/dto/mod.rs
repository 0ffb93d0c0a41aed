//! What the REST API sends and accepts. Records from the catalog are mapped here, never
//! serialized directly, so the API can stay stable while storage changes.

use std::collections::BTreeMap;

use caravan_domain::records::{
    AliasRecord, AuditRecord, ModelPatch, ModelRecord, TokenRecord, UserRecord, VersionRecord,
};
use caravan_domain::{OpsetImport, Role, Scope, Signature, Visibility};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

mod federation;
mod pipelines;
mod social;
mod uploads;
pub use federation::*;
pub use pipelines::*;
pub use social::*;
pub use uploads::*;

/// One page of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// A collection returned whole, as JSON.
    pub fn all<R: Into<T>>(records: impl IntoIterator<Item = R>) -> actix_web::web::Json<Self> {
        actix_web::web::Json(Page {
            items: records.into_iter().map(Into::into).collect(),
            next_cursor: None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Model {
    pub id: Uuid,
    pub name: String,
    pub owner: String,
    pub description: String,
    /// Markdown.
    pub card: String,
    pub tags: Vec<String>,
    /// SPDX identifier.
    pub license: Option<String>,
    pub visibility: Visibility,
    pub downloads: i64,
    pub latest_version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For imported models: when the peer withdrew it (it is then served only through aliases).
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl From<ModelRecord> for Model {
    fn from(m: ModelRecord) -> Self {
        Model {
            id: m.id,
            name: m.name.to_string(),
            owner: m.owner,
            description: m.description,
            card: m.card,
            tags: m.tags,
            license: m.license,
            visibility: m.visibility,
            downloads: m.downloads,
            latest_version: m.latest_version,
            created_at: m.created_at.0,
            updated_at: m.updated_at.0,
            withdrawn_at: m.withdrawn_at.map(|t| t.0),
        }
    }
}

/// A model with its versions (newest first) and aliases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelDetails {
    #[serde(flatten)]
    pub model: Model,
    pub versions: Vec<Version>,
    pub aliases: Vec<Alias>,
    /// Where an imported model came from.
    pub provenance: Option<Provenance>,
    /// Key/value properties (MLflow's registry tags).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Producer {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Version {
    pub model: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
    pub signature: Signature,
    pub opsets: Vec<OpsetImport>,
    pub ir_version: i64,
    pub producer: Producer,
    pub graph_name: String,
    pub doc_string: String,
    /// The ONNX file's metadata_props.
    pub metadata: BTreeMap<String, String>,
    /// Resident memory one ONNX Runtime session of this version took when it was validated.
    pub footprint_bytes: Option<u64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Its release notes (empty unless set).
    #[serde(default)]
    pub description: String,
    /// Where to download the artifact (the ONNX file, or the Acumos bundle's zip).
    pub artifact_url: String,
    /// What the artifact is: `onnx` (served in-process) or `acumos_bundle` (catalogued,
    /// shared and deployable, never run by Caravan).
    pub format: caravan_domain::ArtifactFormat,
    /// The Acumos model-runner interface it came with (methods and .proto), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acumos: Option<caravan_domain::AcumosInterface>,
    /// Key/value properties of this version (MLflow's model-version tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl Version {
    /// The version with its properties.
    pub fn with_properties(mut self, properties: BTreeMap<String, String>) -> Self {
        self.properties = properties;
        self
    }

    pub fn new(model: &str, v: VersionRecord) -> Self {
        let info = v.info;
        Version {
            artifact_url: format!("/api/v1/models/{model}/versions/{}/artifact", v.version),
            model: model.to_owned(),
            version: v.version,
            sha256: v.sha256,
            size: v.size,
            signature: info.signature,
            opsets: info.opsets,
            ir_version: info.ir_version,
            producer: Producer {
                name: info.producer_name,
                version: info.producer_version,
            },
            graph_name: info.graph_name,
            doc_string: info.doc_string,
            metadata: info.metadata,
            footprint_bytes: info.footprint_bytes,
            format: info.format,
            acumos: info.acumos,
            properties: BTreeMap::new(),
            created_by: v.created_by,
            created_at: v.created_at.0,
            description: v.description,
        }
    }
}

/// A version's editable metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionPatch {
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alias {
    pub alias: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// Where an alias points, for a follower that downloads and checks the version.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowedAlias {
    pub alias: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
}

impl From<caravan_core::FollowedAlias> for FollowedAlias {
    fn from(a: caravan_core::FollowedAlias) -> Self {
        FollowedAlias {
            alias: a.alias,
            version: a.version,
            sha256: a.sha256,
            size: a.size,
        }
    }
}

impl From<AliasRecord> for Alias {
    fn from(a: AliasRecord) -> Self {
        Alias {
            alias: a.alias,
            version: a.version,
            updated_by: a.updated_by,
            updated_at: a.updated_at.0,
        }
    }
}

/// Model metadata sent with a push (part `metadata`) or in a PATCH. Absent fields stay as
/// they are; `"license": null` clears the license.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelMetadata {
    pub description: Option<String>,
    pub card: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub license: Option<Option<String>>,
    pub visibility: Option<Visibility>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl From<ModelMetadata> for ModelPatch {
    fn from(m: ModelMetadata) -> Self {
        ModelPatch {
            description: m.description,
            card: m.card,
            tags: m.tags,
            license: m.license,
            visibility: m.visibility,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAlias {
    /// A version number (a numeric string is accepted too).
    #[schema(value_type = String, example = "3")]
    pub version: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<UserRecord> for User {
    fn from(u: UserRecord) -> Self {
        User {
            id: u.id,
            username: u.username,
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at.0,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LoginResult {
    /// A JWT for `Authorization: Bearer`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub disabled: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the secret.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<TokenRecord> for Token {
    fn from(t: TokenRecord) -> Self {
        Token {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes.into_iter().collect(),
            expires_at: t.expires_at.map(|a| a.0),
            last_used_at: t.last_used_at.map(|a| a.0),
            revoked_at: t.revoked_at.map(|a| a.0),
            created_at: t.created_at.0,
        }
    }
}

/// A token just created; `token` is the secret, shown only this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: Token,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

impl From<AuditRecord> for AuditEntry {
    fn from(a: AuditRecord) -> Self {
        AuditEntry {
            id: a.id,
            at: a.at.0,
            actor: a.actor,
            action: a.action,
            target: a.target,
            details: a.details,
        }
    }
}
