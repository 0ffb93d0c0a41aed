//! `UploadRepo` over SQL. Part writes and the start of a completion both update the upload's
//! row first, so on PostgreSQL they serialize on its row lock (SQLite: its one writer): a part
//! can never be recorded once a completion has read the list of parts.

use caravan_domain::ModelName;
use uuid::Uuid;

use crate::{CatalogError, Result, Timestamp, UploadRecord, UploadState};

#[derive(sqlx::FromRow)]
pub(crate) struct UploadRow {
    id: Uuid,
    owner_id: Uuid,
    model: String,
    size: i64,
    sha256: Option<String>,
    part_size: i64,
    store_upload: Option<String>,
    state: String,
    completing_until: Option<Timestamp>,
    version: Option<i64>,
    created_at: Timestamp,
    expires_at: Timestamp,
}

impl TryFrom<UploadRow> for UploadRecord {
    type Error = CatalogError;
    fn try_from(r: UploadRow) -> Result<Self> {
        Ok(UploadRecord {
            id: r.id,
            owner_id: r.owner_id,
            model: ModelName::parse_any(&r.model)
                .map_err(|e| CatalogError::Corrupt(e.to_string()))?,
            size: r.size,
            sha256: r.sha256,
            part_size: r.part_size,
            store_upload: r.store_upload,
            state: UploadState::parse(&r.state)
                .ok_or_else(|| CatalogError::Corrupt(format!("upload state {:?}", r.state)))?,
            completing_until: r.completing_until,
            version: r.version,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }
}

macro_rules! impl_uploads {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::UploadRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_upload(&self, new: $crate::NewUpload) -> $crate::Result<$crate::UploadRecord> {
                let row: $crate::sql::uploads::UploadRow = sqlx::query_as(
                    "INSERT INTO uploads (id, owner_id, model, size, sha256, part_size, state, \
                     created_at, expires_at, store_upload) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9) RETURNING *",
                )
                .bind(new.id).bind(new.owner_id).bind(new.model.as_str()).bind(new.size)
                .bind(&new.sha256).bind(new.part_size).bind(new.created_at).bind(new.expires_at)
                .bind(&new.store_upload)
                .fetch_one(self.writer()).await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn upload(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::UploadRecord>> {
                let row: Option<$crate::sql::uploads::UploadRow> =
                    sqlx::query_as("SELECT * FROM uploads WHERE id = $1")
                        .bind(id).fetch_optional(self.writer()).await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn upload_parts(&self, id: uuid::Uuid) -> $crate::Result<Vec<$crate::UploadPart>> {
                let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
                    "SELECT n, size, sha256, store_etag FROM upload_parts WHERE upload_id = $1 ORDER BY n",
                )
                .bind(id).fetch_all(self.writer()).await?;
                Ok(rows.into_iter().map(|(n, size, sha256, store_etag)| $crate::UploadPart { n, size, sha256, store_etag }).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_part(
                &self,
                id: uuid::Uuid,
                part: &$crate::UploadPart,
                expires_at: $crate::Timestamp,
            ) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                let open = sqlx::query("UPDATE uploads SET expires_at = $2 WHERE id = $1 AND state = 'open'")
                    .bind(id).bind(expires_at).execute(&mut *tx).await?;
                if open.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO upload_parts (upload_id, n, size, sha256, store_etag) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (upload_id, n) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, \
                     store_etag = excluded.store_etag",
                )
                .bind(id).bind(part.n).bind(part.size).bind(&part.sha256).bind(&part.store_etag)
                .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn begin_completing(
                &self,
                id: uuid::Uuid,
                now: $crate::Timestamp,
                until: $crate::Timestamp,
            ) -> $crate::Result<bool> {
                let claimed = sqlx::query(
                    "UPDATE uploads SET state = 'completing', completing_until = $3 WHERE id = $1 \
                     AND (state = 'open' OR (state = 'completing' AND completing_until < $2))",
                )
                .bind(id).bind(now).bind(until).execute(self.writer()).await?;
                Ok(claimed.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn end_completing(
                &self,
                id: uuid::Uuid,
                claim: $crate::Timestamp,
                version: Option<i64>,
                expires_at: $crate::Timestamp,
            ) -> $crate::Result<bool> {
                let state = if version.is_some() { "done" } else { "open" };
                let ended = sqlx::query(
                    "UPDATE uploads SET state = $2, version = $3, completing_until = NULL, \
                     expires_at = $4 WHERE id = $1 AND state = 'completing' AND completing_until = $5",
                )
                .bind(id).bind(state).bind(version).bind(expires_at).bind(claim)
                .execute(self.writer()).await?;
                Ok(ended.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn mark_deleting(
                &self,
                id: uuid::Uuid,
                claim: Option<$crate::Timestamp>,
                now: $crate::Timestamp,
            ) -> $crate::Result<bool> {
                let marked = match claim {
                    Some(claim) => sqlx::query(
                        "UPDATE uploads SET state = 'deleting', expires_at = $2 WHERE id = $1 \
                         AND state = 'completing' AND completing_until = $3",
                    )
                    .bind(id).bind(now).bind(claim).execute(self.writer()).await?,
                    None => sqlx::query(
                        "UPDATE uploads SET state = 'deleting', expires_at = $2 WHERE id = $1 \
                         AND (state <> 'completing' OR completing_until < $2)",
                    )
                    .bind(id).bind(now).execute(self.writer()).await?,
                };
                Ok(marked.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_upload(&self, id: uuid::Uuid) -> $crate::Result<()> {
                sqlx::query("DELETE FROM uploads WHERE id = $1 AND state = 'deleting'")
                    .bind(id).execute(self.writer()).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn expired_uploads(
                &self,
                now: $crate::Timestamp,
                limit: i64,
            ) -> $crate::Result<Vec<uuid::Uuid>> {
                let ids: Vec<(uuid::Uuid,)> = sqlx::query_as(
                    "SELECT id FROM uploads WHERE expires_at < $1 AND \
                     (state <> 'completing' OR completing_until < $1) ORDER BY expires_at LIMIT $2",
                )
                .bind(now).bind(limit).fetch_all(self.writer()).await?;
                Ok(ids.into_iter().map(|(id,)| id).collect())
            }
        }
    };
}

pub(crate) use impl_uploads;
