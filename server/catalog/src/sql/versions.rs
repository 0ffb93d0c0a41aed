//! `VersionRepo` over SQL: versions and the aliases that point to them.

macro_rules! impl_versions {
    ($catalog:ty, $db:ty) => {
        impl $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn model_name_in_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                model_id: uuid::Uuid,
            ) -> $crate::Result<String> {
                let sql = format!("SELECT name FROM models WHERE id = $1{}", Self::FOR_UPDATE);
                let row: Option<(String,)> =
                    sqlx::query_as(&sql).bind(model_id).fetch_optional(&mut **tx).await?;
                row.map(|(n,)| n)
                    .ok_or_else(|| $crate::CatalogError::NotFound("model".into()))
            }
        }

        #[async_trait::async_trait]
        impl $crate::VersionRepo for $catalog {

            #[tracing::instrument(level = "debug", skip_all)]
            async fn versions(
                &self,
                model_id: uuid::Uuid,
            ) -> $crate::Result<Vec<$crate::VersionRecord>> {
                let rows: Vec<$crate::sql::rows::VersionRow> = sqlx::query_as(
                    "SELECT * FROM versions WHERE model_id = $1 ORDER BY version DESC",
                )
                .bind(model_id)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn version(
                &self,
                model_id: uuid::Uuid,
                version: i64,
            ) -> $crate::Result<Option<$crate::VersionRecord>> {
                let row: Option<$crate::sql::rows::VersionRow> =
                    sqlx::query_as("SELECT * FROM versions WHERE model_id = $1 AND version = $2")
                        .bind(model_id)
                        .bind(version)
                        .fetch_optional(self.reader())
                        .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_version(
                &self,
                model_id: uuid::Uuid,
                version: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<String> {
                let mut tx = self.begin_write().await?;
                let name = Self::model_name_in_tx(&mut tx, model_id).await?;
                let aliases: Vec<(String,)> = sqlx::query_as(
                    "SELECT alias FROM aliases WHERE model_id = $1 AND version = $2 ORDER BY alias",
                )
                .bind(model_id)
                .bind(version)
                .fetch_all(&mut *tx)
                .await?;
                if !aliases.is_empty() {
                    let names: Vec<String> = aliases.into_iter().map(|(a,)| a).collect();
                    return Err($crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::InUse,
                        format!(
                            "alias {} points to version {version}; move or delete it first",
                            names.join(", ")
                        ),
                    ));
                }
                let sha: Option<(String,)> = sqlx::query_as(
                    "DELETE FROM versions WHERE model_id = $1 AND version = $2 RETURNING sha256",
                )
                .bind(model_id)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
                let (sha,) = sha.ok_or_else(|| {
                    $crate::CatalogError::NotFound(format!("version {version}"))
                })?;
                sqlx::query("UPDATE models SET updated_at = $1 WHERE id = $2")
                    .bind($crate::Timestamp::now())
                    .bind(model_id)
                    .execute(&mut *tx)
                    .await?;
                let audit = $crate::NewAudit::new(actor, "version.delete", format!("model:{name}"))
                    .with(serde_json::json!({ "version": version, "sha256": sha }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(sha)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn aliases(
                &self,
                model_id: uuid::Uuid,
            ) -> $crate::Result<Vec<$crate::AliasRecord>> {
                let rows: Vec<$crate::sql::rows::AliasRow> = sqlx::query_as(
                    "SELECT alias, version, updated_by, updated_at FROM aliases \
                     WHERE model_id = $1 ORDER BY alias",
                )
                .bind(model_id)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_alias(
                &self,
                model_id: uuid::Uuid,
                alias: &str,
                version: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::AliasRecord> {
                let mut tx = self.begin_write().await?;
                let name = Self::model_name_in_tx(&mut tx, model_id).await?;
                let (exists,): (bool,) = sqlx::query_as(
                    "SELECT EXISTS (SELECT 1 FROM versions WHERE model_id = $1 AND version = $2)",
                )
                .bind(model_id)
                .bind(version)
                .fetch_one(&mut *tx)
                .await?;
                if !exists {
                    return Err($crate::CatalogError::NotFound(format!("version {version}")));
                }
                let previous: Option<(i64,)> = sqlx::query_as(
                    "SELECT version FROM aliases WHERE model_id = $1 AND alias = $2",
                )
                .bind(model_id)
                .bind(alias)
                .fetch_optional(&mut *tx)
                .await?;
                let row: $crate::sql::rows::AliasRow = sqlx::query_as(
                    "INSERT INTO aliases (model_id, alias, version, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id, alias) DO UPDATE SET \
                     version = excluded.version, updated_by = excluded.updated_by, \
                     updated_at = excluded.updated_at \
                     RETURNING alias, version, updated_by, updated_at",
                )
                .bind(model_id)
                .bind(alias)
                .bind(version)
                .bind(&actor.username)
                .bind($crate::Timestamp::now())
                .fetch_one(&mut *tx)
                .await?;
                let audit = $crate::NewAudit::new(actor, "alias.set", format!("model:{name}")).with(
                    serde_json::json!({
                        "alias": alias, "version": version, "previous": previous.map(|(v,)| v)
                    }),
                );
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_alias(
                &self,
                model_id: uuid::Uuid,
                alias: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name = Self::model_name_in_tx(&mut tx, model_id).await?;
                let removed: Option<(i64,)> = sqlx::query_as(
                    "DELETE FROM aliases WHERE model_id = $1 AND alias = $2 RETURNING version",
                )
                .bind(model_id)
                .bind(alias)
                .fetch_optional(&mut *tx)
                .await?;
                let (version,) = removed
                    .ok_or_else(|| $crate::CatalogError::NotFound(format!("alias {alias}")))?;
                let audit = $crate::NewAudit::new(actor, "alias.delete", format!("model:{name}"))
                    .with(serde_json::json!({ "alias": alias, "version": version }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn all_aliases(&self) -> $crate::Result<Vec<(uuid::Uuid, String, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT model_id, alias, version FROM aliases ORDER BY model_id, alias",
                )
                .fetch_all(self.reader())
                .await?)
            }
        }
    };
}

pub(crate) use impl_versions;
