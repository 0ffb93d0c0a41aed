//! `BlobRepo` over SQL (the reservation protocol is described on the trait).

macro_rules! impl_blobs {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::BlobRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn reserve_blob(&self, sha256: &str, size: i64) -> $crate::Result<bool> {
                let row: Option<(String,)> = sqlx::query_as(
                    "INSERT INTO blobs (sha256, size, pending, deleting, updated_at) \
                     VALUES ($1, $2, 1, FALSE, $3) \
                     ON CONFLICT (sha256) DO UPDATE SET pending = blobs.pending + 1, \
                     updated_at = excluded.updated_at WHERE blobs.deleting = FALSE \
                     RETURNING sha256",
                )
                .bind(sha256)
                .bind(size)
                .bind($crate::Timestamp::now())
                .fetch_optional(self.writer())
                .await?;
                Ok(row.is_some())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn release_blob(&self, sha256: &str) -> $crate::Result<()> {
                sqlx::query(
                    "UPDATE blobs SET pending = pending - 1 WHERE sha256 = $1 AND pending > 0",
                )
                .bind(sha256)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn claim_orphan_blob(
                &self,
                sha256: &str,
                stale_before: $crate::Timestamp,
            ) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                // Lock first, then look for references in a later statement: under READ
                // COMMITTED that statement sees a version committed by a push we waited for.
                let lock = format!(
                    "SELECT pending, deleting, updated_at FROM blobs WHERE sha256 = $1{}",
                    Self::FOR_UPDATE
                );
                let row: Option<(i64, bool, $crate::Timestamp)> = sqlx::query_as(&lock)
                    .bind(sha256)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((pending, deleting, updated_at)) = row else {
                    return Ok(false);
                };
                let (referenced,): (bool,) = sqlx::query_as(
                    "SELECT EXISTS (SELECT 1 FROM versions WHERE sha256 = $1) \
                         OR EXISTS (SELECT 1 FROM dataset_versions WHERE sha256 = $1)",
                )
                .bind(sha256)
                .fetch_one(&mut *tx)
                .await?;
                let reserved = pending > 0 && updated_at >= stale_before;
                if referenced || (reserved && !deleting) {
                    return Ok(false);
                }
                sqlx::query("UPDATE blobs SET deleting = TRUE, updated_at = $1 WHERE sha256 = $2")
                    .bind($crate::Timestamp::now())
                    .bind(sha256)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn forget_blob(&self, sha256: &str) -> $crate::Result<()> {
                sqlx::query("DELETE FROM blobs WHERE sha256 = $1 AND deleting")
                    .bind(sha256)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn unclaim_blob(&self, sha256: &str) -> $crate::Result<()> {
                sqlx::query("UPDATE blobs SET deleting = FALSE WHERE sha256 = $1 AND deleting")
                    .bind(sha256)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn orphan_blobs(&self, limit: i64) -> $crate::Result<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT b.sha256 FROM blobs b WHERE NOT EXISTS \
                     (SELECT 1 FROM versions v WHERE v.sha256 = b.sha256) AND NOT EXISTS \
                     (SELECT 1 FROM dataset_versions d WHERE d.sha256 = b.sha256) \
                     ORDER BY b.updated_at LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(|(s,)| s).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn blob_known(&self, sha256: &str) -> $crate::Result<bool> {
                let (known,): (bool,) =
                    sqlx::query_as("SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)")
                        .bind(sha256)
                        .fetch_one(self.reader())
                        .await?;
                Ok(known)
            }
        }
    };
}

pub(crate) use impl_blobs;
