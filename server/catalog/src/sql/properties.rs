//! `PropertyRepo` over SQL: key/value properties of models and versions, each write audited.

macro_rules! impl_properties {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::PropertyRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn properties(&self, model_id: uuid::Uuid) -> $crate::Result<$crate::Properties> {
                let mut properties = $crate::Properties::default();
                let model: Vec<(String, String)> =
                    sqlx::query_as("SELECT key, value FROM model_properties WHERE model_id = $1")
                        .bind(model_id).fetch_all(self.reader()).await?;
                properties.model.extend(model);
                let versions: Vec<(i64, String, String)> = sqlx::query_as(
                    "SELECT version, key, value FROM version_properties WHERE model_id = $1",
                )
                .bind(model_id).fetch_all(self.reader()).await?;
                for (version, key, value) in versions {
                    properties.versions.entry(version).or_default().insert(key, value);
                }
                Ok(properties)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_property(
                &self,
                model_id: uuid::Uuid,
                version: Option<i64>,
                key: &str,
                value: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let set = match version {
                    None => sqlx::query(
                        "INSERT INTO model_properties (model_id, key, value) VALUES ($1, $2, $3) \
                         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(model_id).bind(key).bind(value).execute(&mut *tx).await,
                    Some(v) => sqlx::query(
                        "INSERT INTO version_properties (model_id, version, key, value) \
                         SELECT $1, $2, $3, $4 WHERE EXISTS \
                         (SELECT 1 FROM versions WHERE model_id = $1 AND version = $2) \
                         ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(model_id).bind(v).bind(key).bind(value).execute(&mut *tx).await,
                }?;
                if set.rows_affected() == 0 {
                    return Err($crate::CatalogError::NotFound(format!("version {} not found", version.unwrap_or_default())));
                }
                let audit = $crate::NewAudit::new(actor, "property.set", format!("model:{model_id}"))
                    .with(serde_json::json!({"version": version, "key": key}));
                Self::append_audit(&mut tx, &audit).await?;
                sqlx::query("UPDATE models SET updated_at = $2 WHERE id = $1")
                    .bind(model_id).bind($crate::Timestamp::now()).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_version_description(
                &self,
                model_id: uuid::Uuid,
                version: i64,
                description: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                let updated = sqlx::query(
                    "UPDATE versions SET description = $3 WHERE model_id = $1 AND version = $2",
                )
                .bind(model_id).bind(version).bind(description).execute(&mut *tx).await?;
                if updated.rows_affected() == 0 {
                    return Ok(false);
                }
                let audit = $crate::NewAudit::new(actor, "version.describe", format!("model:{model_id}"))
                    .with(serde_json::json!({"version": version}));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_property(
                &self,
                model_id: uuid::Uuid,
                version: Option<i64>,
                key: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                let deleted = match version {
                    None => sqlx::query("DELETE FROM model_properties WHERE model_id = $1 AND key = $2")
                        .bind(model_id).bind(key).execute(&mut *tx).await,
                    Some(v) => sqlx::query(
                        "DELETE FROM version_properties WHERE model_id = $1 AND version = $2 AND key = $3",
                    )
                    .bind(model_id).bind(v).bind(key).execute(&mut *tx).await,
                }?;
                if deleted.rows_affected() == 0 {
                    return Ok(false);
                }
                let audit = $crate::NewAudit::new(actor, "property.delete", format!("model:{model_id}"))
                    .with(serde_json::json!({"version": version, "key": key}));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

pub(crate) use impl_properties;
