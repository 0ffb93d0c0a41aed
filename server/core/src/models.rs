//! Reading and managing models: search, details, versions, artifacts, metadata, deletion,
//! aliases, and the audit log.

use caravan_domain::Subject;
use std::ops::Range;

use caravan_domain::records::{
    AliasRecord, AuditRecord, ModelPatch, ModelQuery, ModelRecord, ModelSort, Page, VersionRecord,
    Viewer,
};
use caravan_domain::{ModelName, Principal, Scope, VersionRef, Visibility};
use caravan_storage::BlobRead;

use crate::{
    Core, CoreError, Result,
    auth::{actor, require, require_admin},
};

/// A catalog search as clients send it.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub q: Option<String>,
    pub tag: Option<String>,
    pub visibility: Option<Visibility>,
    pub sort: ModelSort,
    pub descending: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A model with its versions (newest first) and aliases.
#[derive(Debug, Clone)]
pub struct ModelDetails {
    pub model: ModelRecord,
    pub versions: Vec<VersionRecord>,
    pub aliases: Vec<AliasRecord>,
    /// Key/value properties of the model and its versions.
    pub properties: caravan_domain::records::Properties,
    /// Where versions registered through MLflow came from.
    pub sources: Vec<caravan_domain::records::VersionSource>,
}

impl ModelDetails {
    /// The version `alias` points to, if any.
    pub fn alias_version(&self, alias: &str) -> Option<i64> {
        self.aliases
            .iter()
            .find(|a| a.alias == alias)
            .map(|a| a.version)
    }
}

/// Largest page a list returns.
pub const MAX_LIMIT: u32 = 500;

impl Core {
    #[tracing::instrument(skip_all)]
    pub async fn search(
        &self,
        who: Option<&Principal>,
        params: SearchParams,
    ) -> Result<Page<ModelRecord>> {
        if let Some(who) = who {
            require(who, Scope::Read)?;
        }
        let viewer = match who {
            None => Viewer::Anonymous,
            Some(p) => Viewer::User {
                id: p.user_id,
                admin: p.role == caravan_domain::Role::Admin,
            },
        };
        let limit = params.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(CoreError::Invalid(format!("limit must be 1-{MAX_LIMIT}")));
        }
        let query = ModelQuery {
            viewer,
            text: params.q.filter(|q| !q.trim().is_empty()),
            tag: params.tag,
            visibility: params.visibility,
            sort: params.sort,
            descending: params.descending,
            limit,
            cursor: params.cursor,
        };
        Ok(self.catalog.search_models(&query).await?)
    }

    /// A model the caller may read; others' private models are "not found".
    #[tracing::instrument(skip_all)]
    pub async fn visible_model(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
    ) -> Result<ModelRecord> {
        if let Some(who) = who {
            require(who, Scope::Read)?;
        }
        match self.catalog.model_by_name(name).await? {
            Some(m) if caravan_domain::can_see(who, m.owner_id, m.visibility) => Ok(m),
            _ => Err(CoreError::not_found(
                Subject::Model,
                format!("model {name} not found"),
            )),
        }
    }

    /// A model the caller may change with `scope` (owners and admins): the one access rule
    /// for changing a model, whatever the surface.
    #[tracing::instrument(skip_all)]
    pub async fn managed_model(
        &self,
        who: &Principal,
        name: &ModelName,
        scope: Scope,
    ) -> Result<ModelRecord> {
        require(who, scope)?;
        let model = self
            .visible_model(Some(who), name)
            .await
            .map_err(|e| match e {
                CoreError::Forbidden(_) => {
                    CoreError::not_found(Subject::Model, format!("model {name} not found"))
                }
                other => other,
            })?;
        if !who.can_manage(model.owner_id) {
            return Err(CoreError::Forbidden(format!(
                "Only the owner of {name} or an admin can change it."
            )));
        }
        Ok(model)
    }

    #[tracing::instrument(skip_all)]
    pub async fn model_details(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
    ) -> Result<ModelDetails> {
        let model = self.visible_model(who, name).await?;
        let versions = self.catalog.versions(model.id).await?;
        let aliases = self.catalog.aliases(model.id).await?;
        let properties = self.catalog.properties(model.id).await?;
        let sources = self.catalog.version_sources(model.id).await?;
        Ok(ModelDetails {
            model,
            versions,
            aliases,
            properties,
            sources,
        })
    }

    /// Resolves a version number, alias or `latest`.
    #[tracing::instrument(skip_all)]
    pub async fn resolve_version(
        &self,
        model: &ModelRecord,
        version: &VersionRef,
    ) -> Result<VersionRecord> {
        let number = match version {
            VersionRef::Number(n) => *n,
            VersionRef::Latest => model.latest_version.ok_or_else(|| {
                CoreError::not_found(
                    Subject::Version,
                    format!("model {} has no versions", model.name),
                )
            })?,
            VersionRef::Alias(alias) => self
                .catalog
                .aliases(model.id)
                .await?
                .into_iter()
                .find(|a| a.alias == alias.as_str())
                .map(|a| a.version)
                .ok_or_else(|| {
                    CoreError::not_found(
                        Subject::Alias,
                        format!("model {} has no alias {alias}", model.name),
                    )
                })?,
        };
        self.catalog
            .version(model.id, number)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(
                    Subject::Version,
                    format!("model {} has no version {number}", model.name),
                )
            })
    }

    #[tracing::instrument(skip_all)]
    pub async fn version(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
        version: &VersionRef,
    ) -> Result<(ModelRecord, VersionRecord)> {
        let model = self.visible_model(who, name).await?;
        let version = self.resolve_version(&model, version).await?;
        Ok((model, version))
    }

    /// Opens a version's ONNX file (from `version`, which the caller resolved with access
    /// checks). A read that starts at byte 0 counts as a download.
    #[tracing::instrument(skip_all)]
    pub async fn open_artifact(
        &self,
        model: &ModelRecord,
        version: &VersionRecord,
        range: Option<Range<u64>>,
    ) -> Result<BlobRead> {
        let counts = range.as_ref().is_none_or(|r| r.start == 0);
        let read = self.blobs.read(&version.sha256, range).await?;
        if counts {
            self.catalog.record_download(model.id).await?;
        }
        Ok(read)
    }

    /// Creates a model with no version yet (a registry entry that versions come to later).
    #[tracing::instrument(skip_all, fields(model = %name))]
    pub async fn create_model(
        &self,
        who: &Principal,
        name: &ModelName,
        patch: ModelPatch,
    ) -> Result<ModelRecord> {
        require(who, Scope::Publish)?;
        if name.is_imported() {
            return Err(CoreError::Invalid(
                "':' is reserved for models imported from peers".into(),
            ));
        }
        let patch = check_patch(patch)?;
        Ok(self.catalog.create_model(name, &patch, &actor(who)).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_model(
        &self,
        who: &Principal,
        name: &ModelName,
        patch: ModelPatch,
    ) -> Result<ModelRecord> {
        let patch = check_patch(patch)?;
        self.managed_model(who, name, Scope::Publish).await?;
        Ok(self.catalog.update_model(name, &patch, &actor(who)).await?)
    }

    /// Deletes a model and every version; blobs nothing else uses are deleted too.
    #[tracing::instrument(skip_all, fields(model = %name, user = %who.username))]
    pub async fn delete_model(&self, who: &Principal, name: &ModelName) -> Result<()> {
        let model = self.managed_model(who, name, Scope::Publish).await?;
        let blobs = self.catalog.delete_model(name, &actor(who)).await?;
        self.unserve_deleted(name, model.id, |_| false);
        for sha256 in blobs {
            self.sweep_blob(&sha256).await;
        }
        Ok(())
    }

    /// Renames a model (its owner or an admin). Everything that names it by id stays with it
    /// (versions, aliases, properties, shares, lineage); what names it by name (a runner that
    /// follows one of its aliases, a pipeline that promotes into it, an open resumable upload)
    /// goes on naming the old name, which only the same owner may give a model again. A model
    /// federation peers can see is not renamed.
    #[tracing::instrument(skip_all, fields(model = %name, to = %new_name))]
    pub async fn rename_model(
        &self,
        who: &Principal,
        name: &ModelName,
        new_name: &ModelName,
    ) -> Result<caravan_domain::records::ModelRecord> {
        let model = self.managed_model(who, name, Scope::Publish).await?;
        if name.is_imported() || new_name.is_imported() {
            return Err(CoreError::Invalid(
                "a model imported from a peer keeps its name, and ':' is reserved for those".into(),
            ));
        }
        // Peers keep their copy under the name they imported it by, and would take the renamed
        // model for another one: a model they can see keeps its name.
        let shared = !self.catalog.model_shares(model.id).await?.is_empty();
        let public_to_peers =
            model.visibility == Visibility::Public && !self.catalog.peers().await?.is_empty();
        if shared || public_to_peers {
            return Err(CoreError::conflict(
                caravan_domain::ConflictKind::InvalidState,
                format!(
                    "{name} is visible to federation peers, which know it by its name: unshare it \
                     (and make it private) before renaming it"
                ),
            ));
        }
        let renamed = self
            .catalog
            .rename_model(name, new_name, &actor(who))
            .await?;
        // Whatever was cached under either name is stale now, here and on other replicas.
        for stale in [name, new_name] {
            self.unserve_deleted(stale, renamed.id, |_| true);
        }
        Ok(renamed)
    }

    /// Deletes one version (refused while an alias points to it).
    #[tracing::instrument(skip_all, fields(model = %name, version))]
    pub async fn delete_version(
        &self,
        who: &Principal,
        name: &ModelName,
        version: i64,
    ) -> Result<()> {
        let model = self.managed_model(who, name, Scope::Publish).await?;
        let sha256 = self
            .catalog
            .delete_version(model.id, version, &actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => CoreError::not_found(
                    Subject::Version,
                    format!("model {name} has no version {version}"),
                ),
                other => other.into(),
            })?;
        self.unserve_deleted(name, model.id, |v| v != version);
        self.sweep_blob(&sha256).await;
        Ok(())
    }

    /// Which of these model names the caller may see (for what `/metrics` may name to them).
    /// Names that are not models, or no longer are, are not visible.
    #[tracing::instrument(skip_all)]
    pub async fn visible_model_names(
        &self,
        who: Option<&Principal>,
        names: std::collections::BTreeSet<String>,
    ) -> Result<std::collections::BTreeSet<String>> {
        let mut visible = std::collections::BTreeSet::new();
        for name in names {
            let Ok(parsed) = ModelName::parse_any(&name) else {
                continue;
            };
            if let Some(model) = self.catalog.model_by_name(&parsed).await?
                && caravan_domain::can_see(who, model.owner_id, model.visibility)
            {
                visible.insert(name);
            }
        }
        Ok(visible)
    }

    #[tracing::instrument(skip_all)]
    pub async fn audit_log(
        &self,
        who: &Principal,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditRecord>> {
        require_admin(who)?;
        Ok(self
            .catalog
            .list_audit(i64::from(limit.clamp(1, MAX_LIMIT)), before)
            .await?)
    }
}

const MAX_TAGS: usize = 20;
const MAX_DESCRIPTION: usize = 2_000;
const MAX_CARD: usize = 200_000;

/// Checks and normalises metadata: tags trimmed, lower-cased and de-duplicated; sizes capped;
/// the license an SPDX-style identifier.
pub(crate) fn check_patch(mut patch: ModelPatch) -> Result<ModelPatch> {
    if let Some(d) = &patch.description
        && d.chars().count() > MAX_DESCRIPTION
    {
        return Err(CoreError::Invalid(format!(
            "description is longer than {MAX_DESCRIPTION} characters"
        )));
    }
    if let Some(c) = &patch.card
        && c.len() > MAX_CARD
    {
        return Err(CoreError::Invalid(format!(
            "card is larger than {MAX_CARD} bytes"
        )));
    }
    if let Some(tags) = patch.tags.take() {
        let mut clean: Vec<String> = Vec::new();
        for tag in tags {
            let tag = tag.trim().to_lowercase();
            let ok = (1..=50).contains(&tag.len())
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                return Err(CoreError::Invalid(format!(
                    "tag {tag:?} must be 1-50 characters of a-z, 0-9, '-', '_' and '.'"
                )));
            }
            if !clean.contains(&tag) {
                clean.push(tag);
            }
        }
        if clean.len() > MAX_TAGS {
            return Err(CoreError::Invalid(format!("at most {MAX_TAGS} tags")));
        }
        patch.tags = Some(clean);
    }
    if let Some(Some(license)) = &patch.license {
        let ok = (1..=64).contains(&license.len())
            && license
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'));
        if !ok {
            return Err(CoreError::Invalid(format!(
                "license {license:?} is not an SPDX identifier (for example Apache-2.0 or MIT)"
            )));
        }
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_normalise_tags_and_refuse_bad_values() {
        let patch = ModelPatch {
            tags: Some(vec![" Vision ".into(), "vision".into(), "mlp".into()]),
            ..Default::default()
        };
        assert_eq!(check_patch(patch).unwrap().tags.unwrap(), ["vision", "mlp"]);
        let bad_tag = ModelPatch {
            tags: Some(vec!["a b".into()]),
            ..Default::default()
        };
        assert!(check_patch(bad_tag).is_err());
        let bad_license = ModelPatch {
            license: Some(Some("not a license!".into())),
            ..Default::default()
        };
        assert!(check_patch(bad_license).is_err());
        let cleared = ModelPatch {
            license: Some(None),
            ..Default::default()
        };
        assert!(check_patch(cleared).is_ok());
    }
}
