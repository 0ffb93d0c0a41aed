//! `TrackingRepo` over SQL, part two: logged models with their params and tags, and the
//! MLflow sources of registered versions.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::LoggedModelRecord;

#[derive(sqlx::FromRow)]
pub(crate) struct LoggedModelRow {
    id: String,
    experiment_id: i64,
    owner_id: Uuid,
    name: String,
    model_type: String,
    source_run_id: Option<String>,
    status: String,
    created_ms: i64,
    updated_ms: i64,
}

impl LoggedModelRow {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn with(
        self,
        params: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> LoggedModelRecord {
        LoggedModelRecord {
            id: self.id,
            experiment_id: self.experiment_id,
            owner_id: self.owner_id,
            name: self.name,
            model_type: self.model_type,
            source_run_id: self.source_run_id,
            status: self.status,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            params,
            tags,
        }
    }
}

macro_rules! impl_logged_models {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::LoggedModelRepo for $catalog {
        #[tracing::instrument(level = "debug", skip_all)]
        async fn create_logged_model(&self, model: $crate::NewLoggedModel)
            -> $crate::Result<$crate::LoggedModelRecord> {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "INSERT INTO mlflow_logged_models (id, experiment_id, owner_id, name, model_type, \
                 source_run_id, status, created_ms, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'LOGGED_MODEL_PENDING', $7, $7)",
            )
            .bind(&model.id).bind(model.experiment_id).bind(model.owner_id).bind(&model.name)
            .bind(&model.model_type).bind(&model.source_run_id).bind(model.created_ms)
            .execute(&mut *tx).await
            .map_err(|e| match $crate::CatalogError::from(e) {
                d if d.is_duplicate() => $crate::CatalogError::conflict(
                    caravan_domain::ConflictKind::AlreadyExists, "the logged model exists already"),
                other => other,
            })?;
            for (table, pairs) in [("mlflow_logged_model_params", &model.params), ("mlflow_logged_model_tags", &model.tags)] {
                for (key, value) in pairs {
                    sqlx::query(&format!(
                        "INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) \
                         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
                    ))
                    .bind(&model.id).bind(key).bind(value).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            $crate::LoggedModelRepo::logged_model(self, &model.id).await?
                .ok_or_else(|| $crate::CatalogError::NotFound("logged model".into()))
        }

        #[tracing::instrument(level = "debug", skip_all)]
        async fn logged_model(&self, id: &str) -> $crate::Result<Option<$crate::LoggedModelRecord>> {
            let row: Option<$crate::sql::logged_models::LoggedModelRow> =
                sqlx::query_as("SELECT * FROM mlflow_logged_models WHERE id = $1")
                    .bind(id).fetch_optional(self.reader()).await?;
            let Some(row) = row else { return Ok(None) };
            let params: Vec<(String, String)> =
                sqlx::query_as("SELECT key, value FROM mlflow_logged_model_params WHERE model_id = $1")
                    .bind(id).fetch_all(self.reader()).await?;
            let tags: Vec<(String, String)> =
                sqlx::query_as("SELECT key, value FROM mlflow_logged_model_tags WHERE model_id = $1")
                    .bind(id).fetch_all(self.reader()).await?;
            Ok(Some(row.with(params.into_iter().collect(), tags.into_iter().collect())))
        }

        #[tracing::instrument(level = "debug", skip_all)]
        async fn logged_models(&self, experiment_ids: &[i64], owner: Option<uuid::Uuid>, newest: i64)
            -> $crate::Result<Vec<$crate::LoggedModelRecord>> {
            // Per experiment: its newest models, then all their params and tags.
            const OF: &str = "SELECT id FROM mlflow_logged_models WHERE experiment_id = $1 \
                              AND ($2 IS NULL OR owner_id = $2) \
                              ORDER BY created_ms DESC, id LIMIT $3";
            let mut found = Vec::new();
            for experiment in experiment_ids {
                let rows: Vec<$crate::sql::logged_models::LoggedModelRow> = sqlx::query_as(&format!(
                    "SELECT * FROM mlflow_logged_models WHERE id IN ({OF})"
                ))
                .bind(experiment).bind(owner).bind(newest).fetch_all(self.reader()).await?;
                let mut extra = [std::collections::HashMap::new(), std::collections::HashMap::new()];
                for (table, into) in ["mlflow_logged_model_params", "mlflow_logged_model_tags"].iter().zip(&mut extra) {
                    let pairs: Vec<(String, String, String)> = sqlx::query_as(&format!(
                        "SELECT model_id, key, value FROM {table} WHERE model_id IN ({OF})"
                    ))
                    .bind(experiment).bind(owner).bind(newest).fetch_all(self.reader()).await?;
                    for (model, key, value) in pairs {
                        into.entry(model).or_insert_with(std::collections::BTreeMap::new).insert(key, value);
                    }
                }
                let [mut params, mut tags] = extra;
                for row in rows {
                    let id = row.id().to_owned();
                    found.push(row.with(params.remove(&id).unwrap_or_default(), tags.remove(&id).unwrap_or_default()));
                }
            }
            found.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then_with(|| a.id.cmp(&b.id)));
            Ok(found)
        }

        #[tracing::instrument(level = "debug", skip_all)]
        async fn set_logged_model_status(&self, id: &str, status: &str, now_ms: i64) -> $crate::Result<bool> {
            let updated = sqlx::query(
                "UPDATE mlflow_logged_models SET status = $2, updated_ms = $3 WHERE id = $1",
            )
            .bind(id).bind(status).bind(now_ms).execute(self.writer()).await?;
            Ok(updated.rows_affected() > 0)
        }

        #[tracing::instrument(level = "debug", skip_all)]
        async fn log_logged_model_params(&self, id: &str, params: &[(String, String)], now_ms: i64)
            -> $crate::Result<bool> {
            let mut tx = self.begin_write().await?;
            let updated = sqlx::query("UPDATE mlflow_logged_models SET updated_ms = $2 WHERE id = $1")
                .bind(id).bind(now_ms).execute(&mut *tx).await?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            for (key, value) in params {
                sqlx::query(
                    "INSERT INTO mlflow_logged_model_params (model_id, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (model_id, key) DO NOTHING",
                )
                .bind(id).bind(key).bind(value).execute(&mut *tx).await?;
                let (kept,): (String,) = sqlx::query_as(
                    "SELECT value FROM mlflow_logged_model_params WHERE model_id = $1 AND key = $2",
                )
                .bind(id).bind(key).fetch_one(&mut *tx).await?;
                if kept != *value {
                    return Err($crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::InvalidState,
                        format!("param {key:?} was logged as {kept:?}; params cannot change"),
                    ));
                }
            }
            tx.commit().await?;
            Ok(true)
        }

        #[tracing::instrument(level = "debug", skip_all)]
        async fn set_logged_model_tags(&self, id: &str, tags: &[(String, Option<String>)], now_ms: i64)
            -> $crate::Result<bool> {
            let mut tx = self.begin_write().await?;
            let updated = sqlx::query("UPDATE mlflow_logged_models SET updated_ms = $2 WHERE id = $1")
                .bind(id).bind(now_ms).execute(&mut *tx).await?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            for (key, value) in tags {
                match value {
                    Some(value) => sqlx::query(
                        "INSERT INTO mlflow_logged_model_tags (model_id, key, value) VALUES ($1, $2, $3) \
                         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(id).bind(key).bind(value).execute(&mut *tx).await?,
                    None => sqlx::query("DELETE FROM mlflow_logged_model_tags WHERE model_id = $1 AND key = $2")
                        .bind(id).bind(key).execute(&mut *tx).await?,
                };
            }
            tx.commit().await?;
            Ok(true)
        }

        #[tracing::instrument(level = "debug", skip_all)]
        async fn record_version_source(&self, model_id: uuid::Uuid, source: $crate::VersionSource)
            -> $crate::Result<()> {
            let inserted = sqlx::query(
                "INSERT INTO mlflow_version_sources (model_id, version, source, run_id, logged_model_id, signature, directory) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS \
                 (SELECT 1 FROM versions WHERE model_id = $1 AND version = $2) \
                 ON CONFLICT (model_id, version) DO NOTHING",
            )
            .bind(model_id).bind(source.version).bind(&source.source).bind(&source.run_id)
            .bind(&source.logged_model_id).bind(&source.signature).bind(&source.directory)
            .execute(self.writer()).await?;
            if inserted.rows_affected() == 0 {
                let exists: Option<(i64,)> = sqlx::query_as(
                    "SELECT version FROM versions WHERE model_id = $1 AND version = $2",
                )
                .bind(model_id).bind(source.version).fetch_optional(self.reader()).await?;
                if exists.is_none() {
                    return Err($crate::CatalogError::NotFound(format!("version {}", source.version)));
                }
            }
            Ok(())
        }

        #[tracing::instrument(level = "debug", skip_all)]
        async fn version_sources(&self, model_id: uuid::Uuid) -> $crate::Result<Vec<$crate::VersionSource>> {
            let rows: Vec<(i64, String, Option<String>, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT version, source, run_id, logged_model_id, signature, directory FROM mlflow_version_sources \
                 WHERE model_id = $1 ORDER BY version",
            )
            .bind(model_id).fetch_all(self.reader()).await?;
            Ok(rows.into_iter().map(|(version, source, run_id, logged_model_id, signature, directory)| $crate::VersionSource {
                version, source, run_id, logged_model_id, signature, directory,
            }).collect())
        }

        }
    };
}

pub(crate) use impl_logged_models;
