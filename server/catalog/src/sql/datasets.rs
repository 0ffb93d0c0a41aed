//! Datasets and their versions over SQL (half of `PipelineRepo`, see `pipelines.rs`).

use caravan_domain::DatasetSchema;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{DatasetRecord, DatasetVersionRecord, Timestamp};

#[derive(sqlx::FromRow)]
pub(crate) struct DatasetRow {
    id: Uuid,
    name: String,
    owner_id: Uuid,
    owner: String,
    description: String,
    latest_version: Option<i64>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<DatasetRow> for DatasetRecord {
    fn from(r: DatasetRow) -> Self {
        DatasetRecord {
            id: r.id,
            name: r.name,
            owner_id: r.owner_id,
            owner: r.owner,
            description: r.description,
            latest_version: r.latest_version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DatasetVersionRow {
    dataset_id: Uuid,
    dataset: String,
    version: i64,
    sha256: String,
    size: i64,
    format: String,
    schema: Json<DatasetSchema>,
    created_by: String,
    created_at: Timestamp,
}

impl From<DatasetVersionRow> for DatasetVersionRecord {
    fn from(r: DatasetVersionRow) -> Self {
        DatasetVersionRecord {
            dataset_id: r.dataset_id,
            dataset: r.dataset,
            version: r.version,
            sha256: r.sha256,
            size: r.size,
            format: r.format,
            schema: r.schema.0,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

pub(crate) const DATASET_SELECT: &str = "SELECT d.id, d.name, d.owner_id, u.username AS owner, \
     d.description, (SELECT MAX(v.version) FROM dataset_versions v WHERE v.dataset_id = d.id) \
     AS latest_version, d.created_at, d.updated_at FROM datasets d JOIN users u ON u.id = d.owner_id";
pub(crate) const VERSION_SELECT: &str = "SELECT v.dataset_id, d.name AS dataset, v.version, \
     v.sha256, v.size, v.format, v.schema, v.created_by, v.created_at \
     FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id";

macro_rules! impl_datasets {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::DatasetRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_dataset_version(
                &self,
                new: $crate::NewDatasetVersion,
                actor: &$crate::Actor,
            ) -> $crate::Result<($crate::DatasetVersionRecord, bool)> {
                use $crate::sql::datasets::VERSION_SELECT;
                let mut tx = self.begin_write().await?;
                let now = $crate::Timestamp::now();
                // Create the dataset unless it exists (a concurrent first upload may have just
                // done so), then lock its row: versions are numbered one after the other.
                sqlx::query(
                    "INSERT INTO datasets (id, name, owner_id, description, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (name) DO NOTHING",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(&new.name)
                .bind(new.owner_id)
                .bind(new.description.clone().unwrap_or_default())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let found: Option<(uuid::Uuid, i64)> = sqlx::query_as(&format!(
                    "SELECT id, next_version FROM datasets WHERE name = $1{}",
                    Self::FOR_UPDATE
                ))
                .bind(&new.name)
                .fetch_optional(&mut *tx)
                .await?;
                let (dataset_id, version) = found
                    .ok_or_else(|| $crate::CatalogError::NotFound("dataset".into()))?;
                let release = "UPDATE blobs SET pending = pending - 1 WHERE sha256 = $1 AND pending > 0";
                let same: Option<$crate::sql::datasets::DatasetVersionRow> = sqlx::query_as(
                    &format!("{VERSION_SELECT} WHERE v.dataset_id = $1 AND v.sha256 = $2"),
                )
                .bind(dataset_id)
                .bind(&new.sha256)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(same) = same {
                    sqlx::query(release).bind(&new.sha256).execute(&mut *tx).await?;
                    tx.commit().await?;
                    return Ok((same.into(), false));
                }
                sqlx::query(
                    "INSERT INTO dataset_versions (dataset_id, version, sha256, size, format, \
                     schema, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(dataset_id)
                .bind(version)
                .bind(&new.sha256)
                .bind(new.size)
                .bind(&new.format)
                .bind(sqlx::types::Json(&new.schema))
                .bind(&actor.username)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE datasets SET next_version = $1, updated_at = $2, \
                     description = COALESCE($3, description) WHERE id = $4",
                )
                .bind(version + 1)
                .bind(now)
                .bind(new.description.as_deref())
                .bind(dataset_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(release).bind(&new.sha256).execute(&mut *tx).await?;
                let audit = $crate::NewAudit::new(actor, "dataset.version.create", format!("dataset:{}", new.name))
                    .with(serde_json::json!({ "version": version, "sha256": new.sha256, "rows": new.schema.rows }));
                Self::append_audit(&mut tx, &audit).await?;
                let row: $crate::sql::datasets::DatasetVersionRow = sqlx::query_as(&format!(
                    "{VERSION_SELECT} WHERE v.dataset_id = $1 AND v.version = $2"
                ))
                .bind(dataset_id)
                .bind(version)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok((row.into(), true))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn datasets(&self) -> $crate::Result<Vec<$crate::DatasetRecord>> {
                self.select_datasets(None).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn dataset_by_name(&self, name: &str) -> $crate::Result<Option<$crate::DatasetRecord>> {
                Ok(self.select_datasets(Some(name)).await?.pop())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn dataset_versions(&self, dataset_id: uuid::Uuid) -> $crate::Result<Vec<$crate::DatasetVersionRecord>> {
                self.select_dataset_versions(dataset_id, None).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn dataset_version(&self, dataset_id: uuid::Uuid, version: i64) -> $crate::Result<Option<$crate::DatasetVersionRecord>> {
                Ok(self.select_dataset_versions(dataset_id, Some(version)).await?.pop())
            }
        }

        /// One query each for one or all datasets, one or all versions.
        impl $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn select_datasets(
                &self,
                name: Option<&str>,
            ) -> $crate::Result<Vec<$crate::DatasetRecord>> {
                use $crate::sql::datasets::DATASET_SELECT;
                let rows: Vec<$crate::sql::datasets::DatasetRow> = match name {
                    Some(name) => sqlx::query_as(&format!("{DATASET_SELECT} WHERE d.name = $1"))
                        .bind(name)
                        .fetch_all(self.reader())
                        .await?,
                    None => sqlx::query_as(&format!("{DATASET_SELECT} ORDER BY d.name"))
                        .fetch_all(self.reader())
                        .await?,
                };
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn select_dataset_versions(
                &self,
                dataset_id: uuid::Uuid,
                version: Option<i64>,
            ) -> $crate::Result<Vec<$crate::DatasetVersionRecord>> {
                use $crate::sql::datasets::VERSION_SELECT;
                let rows: Vec<$crate::sql::datasets::DatasetVersionRow> = sqlx::query_as(&format!(
                    "{VERSION_SELECT} WHERE v.dataset_id = $1 AND ($2 IS NULL OR v.version = $2) \
                     ORDER BY v.version DESC"
                ))
                .bind(dataset_id)
                .bind(version)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}

pub(crate) use impl_datasets;
