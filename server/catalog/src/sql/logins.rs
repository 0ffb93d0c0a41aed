//! `LoginAttemptRepo` over SQL: one row per key, locked (PostgreSQL `FOR UPDATE`, in key order
//! so two logins never wait on each other crosswise; SQLite: its one writer) while an attempt
//! is checked against every key's cap and counted.

macro_rules! impl_login_attempts {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::LoginAttemptRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn count_login_attempt(
                &self,
                keys: &[(String, i64)],
                now: $crate::Timestamp,
                window: std::time::Duration,
            ) -> $crate::Result<Option<u64>> {
                let mut keys = keys.to_vec();
                keys.sort();
                keys.dedup_by(|a, b| a.0 == b.0);
                let window = chrono::Duration::from_std(window)
                    .map_err(|e| $crate::CatalogError::InvalidInput(e.to_string()))?;
                let mut tx = self.begin_write().await?;
                for (key, _) in &keys {
                    sqlx::query(
                        "INSERT INTO login_attempts (key, attempts, window_start) VALUES ($1, 0, $2) \
                         ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(key).bind(now).execute(&mut *tx).await?;
                }
                let mut counts = Vec::with_capacity(keys.len());
                for (key, cap) in &keys {
                    let lock = format!(
                        "SELECT attempts, window_start FROM login_attempts WHERE key = $1{}",
                        Self::FOR_UPDATE
                    );
                    let (attempts, start): (i64, $crate::Timestamp) =
                        sqlx::query_as(&lock).bind(key).fetch_one(&mut *tx).await?;
                    let live = start.0 + window > now.0;
                    if live && attempts >= *cap {
                        let left = (start.0 + window - now.0).num_seconds().max(1) as u64;
                        // Refused attempts count nothing; the rows' locks go with the rollback.
                        return Ok(Some(left));
                    }
                    counts.push((key, if live { attempts + 1 } else { 1 }, if live { start } else { now }));
                }
                for (key, attempts, start) in counts {
                    sqlx::query("UPDATE login_attempts SET attempts = $1, window_start = $2 WHERE key = $3")
                        .bind(attempts).bind(start).bind(key).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(None)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn login_succeeded(&self, forget: &str, give_back: &[String]) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM login_attempts WHERE key = $1")
                    .bind(forget).execute(&mut *tx).await?;
                let mut give_back = give_back.to_vec();
                give_back.sort();
                for key in &give_back {
                    sqlx::query("UPDATE login_attempts SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0")
                        .bind(key).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn prune_login_attempts(&self, before: $crate::Timestamp) -> $crate::Result<u64> {
                let done = sqlx::query("DELETE FROM login_attempts WHERE window_start < $1")
                    .bind(before).execute(self.writer()).await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_login_attempts;
