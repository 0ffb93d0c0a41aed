//! Key/value properties of models and versions: labels a team keys its own tooling on (MLflow
//! calls them tags), and versions' descriptions, set by whoever may change the model.

use caravan_domain::{ModelName, Principal, Scope, Subject};

use crate::{Core, CoreError, Result, auth::actor};

/// Longest key and value, and most properties on one model or version (MLflow's key and
/// value limits).
pub const MAX_PROPERTY_KEY: usize = 250;
pub const MAX_PROPERTY_VALUE: usize = 5000;
pub const MAX_PROPERTIES: usize = 100;
/// Longest version description (MLflow's limit).
pub const MAX_VERSION_DESCRIPTION: usize = 5000;

impl Core {
    /// Sets a version's description, as whoever may change the model.
    #[tracing::instrument(skip_all, fields(model = %name, version))]
    pub async fn describe_version(
        &self,
        who: &Principal,
        name: &ModelName,
        version: i64,
        description: &str,
    ) -> Result<()> {
        if description.chars().count() > MAX_VERSION_DESCRIPTION || description.contains('\0') {
            return Err(CoreError::Invalid(format!(
                "a version's description is at most {MAX_VERSION_DESCRIPTION} characters, without NUL"
            )));
        }
        let model = self.managed_model(who, name, Scope::Publish).await?;
        let found = self
            .catalog
            .set_version_description(model.id, version, description, &actor(who))
            .await?;
        if !found {
            return Err(CoreError::not_found(
                Subject::Version,
                format!("version {version} of {name} not found"),
            ));
        }
        Ok(())
    }

    /// The properties of a model `who` may see and of its versions.
    pub async fn properties(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
    ) -> Result<caravan_domain::records::Properties> {
        let model = self.visible_model(who, name).await?;
        Ok(self.catalog.properties(model.id).await?)
    }

    /// Sets a property of a model (`version: None`) or of one of its versions.
    #[tracing::instrument(skip_all, fields(model = %name, version))]
    pub async fn set_property(
        &self,
        who: &Principal,
        name: &ModelName,
        version: Option<i64>,
        key: &str,
        value: &str,
    ) -> Result<()> {
        check_property(key, value)?;
        let model = self.managed_model(who, name, Scope::Publish).await?;
        let current = self.catalog.properties(model.id).await?;
        let existing = match version {
            None => current.model,
            Some(v) => current.of_version(v),
        };
        if existing.len() >= MAX_PROPERTIES && !existing.contains_key(key) {
            return Err(CoreError::LimitExceeded(format!(
                "a model or version has at most {MAX_PROPERTIES} properties"
            )));
        }
        self.catalog
            .set_property(model.id, version, key, value, &actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => CoreError::not_found(
                    Subject::Version,
                    format!(
                        "version {} of {name} not found",
                        version.unwrap_or_default()
                    ),
                ),
                other => other.into(),
            })
    }

    /// Deletes a property; `NotFound` if there is none by that key.
    #[tracing::instrument(skip_all, fields(model = %name, version))]
    pub async fn delete_property(
        &self,
        who: &Principal,
        name: &ModelName,
        version: Option<i64>,
        key: &str,
    ) -> Result<()> {
        let model = self.managed_model(who, name, Scope::Publish).await?;
        if !self
            .catalog
            .delete_property(model.id, version, key, &actor(who))
            .await?
        {
            return Err(CoreError::not_found(
                Subject::Other,
                format!("{name} has no property {key:?}"),
            ));
        }
        Ok(())
    }
}

/// Whether a key and value are within the limits (checked before anything is written).
pub fn check_property(key: &str, value: &str) -> Result<()> {
    let key_chars = key.chars().count();
    if key_chars == 0 || key_chars > MAX_PROPERTY_KEY || key.chars().any(char::is_control) {
        return Err(CoreError::Invalid(format!(
            "a property key is 1 to {MAX_PROPERTY_KEY} characters, none of them control characters"
        )));
    }
    if value.chars().count() > MAX_PROPERTY_VALUE {
        return Err(CoreError::Invalid(format!(
            "a property value is at most {MAX_PROPERTY_VALUE} characters"
        )));
    }
    Ok(())
}
