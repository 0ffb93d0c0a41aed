//! Row shapes as both engines return them, and their conversion into records.

use std::collections::BTreeSet;

use caravan_domain::{ModelInfo, ModelName, Role, Scope, Visibility};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    AliasRecord, AuditRecord, CatalogError, ModelRecord, Result, Timestamp, TokenRecord,
    UserRecord, VersionRecord,
};

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    username: String,
    password_hash: String,
    role: String,
    disabled: bool,
    created_at: Timestamp,
    password_changed_at: Timestamp,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = CatalogError;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(UserRecord {
            id: r.id,
            role: r.role.parse::<Role>().map_err(corrupt)?,
            username: r.username,
            password_hash: r.password_hash,
            disabled: r.disabled,
            created_at: r.created_at,
            password_changed_at: r.password_changed_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    prefix: String,
    scopes: Json<BTreeSet<Scope>>,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    created_at: Timestamp,
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> Self {
        TokenRecord {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes.0,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ModelRow {
    pub(crate) seq: i64,
    id: Uuid,
    name: String,
    owner_id: Uuid,
    owner: String,
    description: String,
    card: String,
    tags: Json<Vec<String>>,
    license: Option<String>,
    visibility: String,
    downloads: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
    withdrawn_at: Option<Timestamp>,
    latest_version: Option<i64>,
}

impl TryFrom<ModelRow> for ModelRecord {
    type Error = CatalogError;
    fn try_from(r: ModelRow) -> Result<Self> {
        Ok(ModelRecord {
            id: r.id,
            name: ModelName::parse_any(&r.name).map_err(corrupt)?,
            owner_id: r.owner_id,
            owner: r.owner,
            description: r.description,
            card: r.card,
            tags: r.tags.0,
            license: r.license,
            visibility: r.visibility.parse::<Visibility>().map_err(corrupt)?,
            downloads: r.downloads,
            created_at: r.created_at,
            updated_at: r.updated_at,
            latest_version: r.latest_version,
            withdrawn_at: r.withdrawn_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct VersionRow {
    model_id: Uuid,
    pub(crate) version: i64,
    revision_id: Uuid,
    artifact_id: Uuid,
    sha256: String,
    size: i64,
    info: Json<ModelInfo>,
    created_by: String,
    created_at: Timestamp,
    description: String,
}

impl From<VersionRow> for VersionRecord {
    fn from(r: VersionRow) -> Self {
        VersionRecord {
            model_id: r.model_id,
            version: r.version,
            revision_id: r.revision_id,
            artifact_id: r.artifact_id,
            sha256: r.sha256,
            size: r.size,
            info: r.info.0,
            created_by: r.created_by,
            created_at: r.created_at,
            description: r.description,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AliasRow {
    alias: String,
    version: i64,
    updated_by: String,
    updated_at: Timestamp,
}

impl From<AliasRow> for AliasRecord {
    fn from(r: AliasRow) -> Self {
        AliasRecord {
            alias: r.alias,
            version: r.version,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: Timestamp,
    actor: Option<String>,
    action: String,
    target: String,
    details: Json<serde_json::Value>,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        AuditRecord {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            details: r.details.0,
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Corrupt(e.to_string())
}

/// Converts rows, failing on the first corrupt one.
pub(crate) fn convert<R, T: TryFrom<R, Error = CatalogError>>(rows: Vec<R>) -> Result<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct PeerRow {
    id: Uuid,
    name: String,
    api_url: String,
    subject: Option<String>,
    fingerprint: Option<String>,
    signing_key: String,
    legacy_acumos: bool,
    status: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<PeerRow> for crate::PeerRecord {
    type Error = CatalogError;
    fn try_from(r: PeerRow) -> Result<Self> {
        Ok(crate::PeerRecord {
            id: r.id,
            name: r.name,
            api_url: r.api_url,
            subject: r.subject,
            fingerprint: r.fingerprint,
            signing_key: r.signing_key,
            legacy_acumos: r.legacy_acumos,
            status: r.status.parse().map_err(corrupt)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SubscriptionRow {
    id: Uuid,
    peer_id: Uuid,
    peer_name: String,
    catalog_id: String,
    models: Json<Vec<String>>,
    interval_secs: i64,
    visibility: String,
    owner_id: Uuid,
    cursor: i64,
    next_run_at: Timestamp,
    failures: i64,
    last_success_at: Option<Timestamp>,
    last_error: Option<String>,
    last_error_at: Option<Timestamp>,
    imported: i64,
    withdrawn: i64,
    created_at: Timestamp,
}

impl TryFrom<SubscriptionRow> for crate::SubscriptionRecord {
    type Error = CatalogError;
    fn try_from(r: SubscriptionRow) -> Result<Self> {
        Ok(crate::SubscriptionRecord {
            id: r.id,
            peer_id: r.peer_id,
            peer_name: r.peer_name,
            catalog_id: r.catalog_id,
            models: r.models.0,
            interval_secs: r.interval_secs,
            visibility: r.visibility.parse().map_err(corrupt)?,
            owner_id: r.owner_id,
            cursor: r.cursor,
            next_run_at: r.next_run_at,
            failures: r.failures,
            last_success_at: r.last_success_at,
            last_error: r.last_error,
            last_error_at: r.last_error_at,
            imported: r.imported,
            withdrawn: r.withdrawn,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProvenanceRow {
    peer_id: Uuid,
    peer_name: String,
    remote_solution_id: Uuid,
    remote_name: String,
    fetched_at: Timestamp,
}

impl From<ProvenanceRow> for crate::ProvenanceRecord {
    fn from(r: ProvenanceRow) -> Self {
        crate::ProvenanceRecord {
            peer_id: r.peer_id,
            peer_name: r.peer_name,
            remote_solution_id: r.remote_solution_id,
            remote_name: r.remote_name,
            fetched_at: r.fetched_at,
            unverified_versions: Vec::new(),
        }
    }
}
