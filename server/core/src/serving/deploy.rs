//! Loading, unloading and hot swap: an alias moves only after its target is loaded and warm,
//! so requests never wait for a load and never fail because of a swap.

use caravan_domain::{ConflictKind, Subject};
use std::collections::HashSet;

use caravan_domain::records::{AliasRecord, Change};
use caravan_domain::{AliasName, ModelName, Principal, Scope};
use caravan_inference::serving::{LoadError, LoadState, VersionKey};

use crate::{Core, CoreError, Result, auth::require};

/// One row of the repository index.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub name: String,
    pub version: i64,
    pub loaded: bool,
}

impl Core {
    /// Points an alias at a version: loads and warms the version first, then moves the alias
    /// in the catalog (audited), then lets requests see it. If the version cannot be loaded,
    /// nothing changes and the error says why.
    #[tracing::instrument(skip_all, fields(model = %name, alias = %alias, version))]
    pub async fn set_alias(
        &self,
        who: &Principal,
        name: &ModelName,
        alias: &AliasName,
        version: i64,
    ) -> Result<AliasRecord> {
        let model = self.managed_model(who, name, Scope::Deploy).await?;
        let previous = self
            .catalog
            .aliases(model.id)
            .await?
            .into_iter()
            .find(|a| a.alias == alias.as_str())
            .map(|a| a.version);
        if let Some(serving) = &self.serving {
            self.loaded_version(&model, version).await?;
            serving.registry.pin(VersionKey {
                model_id: model.id,
                version,
            });
        }
        let record = self
            .catalog
            .set_alias(model.id, alias.as_str(), version, &crate::actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => CoreError::not_found(
                    Subject::Version,
                    format!("model {name} has no version {version}"),
                ),
                other => other.into(),
            })?;
        self.after_alias_change(name).await;
        let data = serde_json::json!({
            "model": name.as_str(), "alias": alias.as_str(), "version": version,
            "previous_version": previous, "by": who.username,
        });
        self.emit(crate::events::ALIAS_CHANGED, name.as_str(), data)
            .await;
        Ok(record)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_alias(
        &self,
        who: &Principal,
        name: &ModelName,
        alias: &AliasName,
    ) -> Result<()> {
        let model = self.managed_model(who, name, Scope::Deploy).await?;
        self.catalog
            .delete_alias(model.id, alias.as_str(), &crate::actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => CoreError::not_found(
                    Subject::Alias,
                    format!("model {name} has no alias {alias}"),
                ),
                other => other.into(),
            })?;
        self.after_alias_change(name).await;
        Ok(())
    }

    /// New requests see the change at once; the pins follow the aliases.
    async fn after_alias_change(&self, name: &ModelName) {
        self.announce(Change::Model {
            name: name.to_string(),
        });
        self.aliases_changed();
        if let Some(serving) = &self.serving {
            serving.invalidate(name.as_str());
            if let Err(e) = self.refresh_pins().await {
                tracing::warn!(error = %e, "could not refresh the pinned versions");
            }
        }
    }

    /// After a deletion: new requests stop seeing the model's deleted versions at once and
    /// they leave memory, aliased or not.
    pub(crate) fn unserve_deleted(
        &self,
        name: &ModelName,
        model_id: uuid::Uuid,
        exists: impl Fn(i64) -> bool,
    ) {
        // Aliases of deleted versions went with them.
        self.announce(Change::Model {
            name: name.to_string(),
        });
        self.aliases_changed();
        if let Some(serving) = &self.serving {
            serving.invalidate(name.as_str());
            serving.registry.forget_deleted(model_id, exists);
        }
    }

    pub(crate) async fn refresh_pins(&self) -> Result<HashSet<VersionKey>> {
        let pins: HashSet<VersionKey> = self
            .catalog
            .all_aliases()
            .await?
            .into_iter()
            .map(|(model_id, _, version)| VersionKey { model_id, version })
            .collect();
        self.serving()?.registry.set_pinned(pins.clone());
        Ok(pins)
    }

    /// Loads every aliased version (after start-up), then marks serving ready. Versions that
    /// fail to load are logged and skipped: their requests get the error when they come.
    #[tracing::instrument(skip_all)]
    pub async fn preload_aliased(&self) -> Result<usize> {
        let serving = self.serving()?.clone();
        let mut loaded = 0;
        for (model_id, alias, version) in self.catalog.all_aliases().await? {
            serving.registry.pin(VersionKey { model_id, version });
            let Some(model) = self.catalog.model_by_id(model_id).await? else {
                continue;
            };
            match self.loaded_version(&model, version).await {
                Ok(_) => loaded += 1,
                Err(e) => {
                    tracing::warn!(model = %model.name, alias, version, error = %e, "could not preload")
                }
            }
        }
        self.refresh_pins().await?;
        serving.set_ready();
        Ok(loaded)
    }

    /// Loads a version (Triton's repository `load`; loading again is a no-op).
    #[tracing::instrument(skip_all)]
    pub async fn load_model(
        &self,
        who: &Principal,
        name: &str,
        version: Option<&str>,
    ) -> Result<i64> {
        require(who, Scope::Deploy)?;
        let model = self.served_model(Some(who), name).await?;
        if !who.can_manage(model.record.owner_id) {
            return Err(CoreError::Forbidden(format!(
                "only the owner of {name} can load it"
            )));
        }
        let number = self.served_version(&model, version).await?;
        self.loaded_version(&model.record, number).await?;
        Ok(number)
    }

    /// Unloads a version; refused while an alias points to it.
    #[tracing::instrument(skip_all)]
    pub async fn unload_model(
        &self,
        who: &Principal,
        name: &str,
        version: Option<&str>,
    ) -> Result<i64> {
        require(who, Scope::Deploy)?;
        let model = self.served_model(Some(who), name).await?;
        if !who.can_manage(model.record.owner_id) {
            return Err(CoreError::Forbidden(format!(
                "only the owner of {name} can unload it"
            )));
        }
        let number = self.served_version(&model, version).await?;
        let key = VersionKey {
            model_id: model.record.id,
            version: number,
        };
        match self.serving()?.registry.unload(key) {
            Ok(_) => Ok(number),
            Err(LoadError::Pinned) => {
                let aliases: Vec<&str> = model
                    .aliases
                    .iter()
                    .filter(|(_, v)| **v == number)
                    .map(|(a, _)| a.as_str())
                    .collect();
                Err(CoreError::conflict(
                    ConflictKind::InUse,
                    format!(
                        "version {number} of {name} is served by alias {}; move the alias first",
                        aliases.join(", ")
                    ),
                ))
            }
            Err(e) => Err(CoreError::internal(e)),
        }
    }

    /// The versions of the models the caller can see, and whether each is loaded.
    #[tracing::instrument(skip_all)]
    pub async fn repository_index(
        &self,
        who: Option<&Principal>,
        only_loaded: bool,
    ) -> Result<Vec<IndexEntry>> {
        let serving = self.serving()?;
        let states: std::collections::HashMap<VersionKey, LoadState> =
            serving.registry.index().into_iter().collect();
        let page = self
            .search(
                who,
                crate::SearchParams {
                    limit: Some(500),
                    sort: caravan_domain::records::ModelSort::Name,
                    ..Default::default()
                },
            )
            .await?;
        let mut entries = Vec::new();
        for model in page.items {
            for version in self.catalog.versions(model.id).await? {
                let key = VersionKey {
                    model_id: model.id,
                    version: version.version,
                };
                let loaded = states.get(&key) == Some(&LoadState::Loaded);
                if loaded || !only_loaded {
                    entries.push(IndexEntry {
                        name: model.name.to_string(),
                        version: version.version,
                        loaded,
                    });
                }
            }
        }
        Ok(entries)
    }
}
