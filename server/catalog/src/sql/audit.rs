//! `AuditRepo` and `InstanceRepo` over SQL, and the audit append used inside transactions.

macro_rules! impl_audit {
    ($catalog:ty, $db:ty) => {
        impl $catalog {
            /// Appends an audit entry inside the caller's transaction.
            #[tracing::instrument(level = "debug", skip_all)]
            pub(crate) async fn append_audit(
                tx: &mut sqlx::Transaction<'static, $db>,
                entry: &$crate::NewAudit,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, target, details) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($crate::Timestamp::now())
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.target)
                .bind(sqlx::types::Json(&entry.details))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::AuditRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_audit(
                &self,
                limit: i64,
                before: Option<i64>,
            ) -> $crate::Result<Vec<$crate::AuditRecord>> {
                let rows: Vec<$crate::sql::rows::AuditRow> = sqlx::query_as(
                    "SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }

        #[async_trait::async_trait]
        impl $crate::InstanceRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn setting_or_init(&self, key: &str, init: &str) -> $crate::Result<String> {
                sqlx::query(
                    "INSERT INTO instance_settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(init)
                .execute(self.writer())
                .await?;
                let (value,): (String,) =
                    sqlx::query_as("SELECT value FROM instance_settings WHERE key = $1")
                        .bind(key)
                        .fetch_one(self.reader())
                        .await?;
                Ok(value)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn remove_setting(&self, key: &str) -> $crate::Result<Option<String>> {
                let removed: Option<(String,)> =
                    sqlx::query_as("DELETE FROM instance_settings WHERE key = $1 RETURNING value")
                        .bind(key)
                        .fetch_optional(self.writer())
                        .await?;
                Ok(removed.map(|(value,)| value))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn ping(&self) -> $crate::Result<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_audit;
