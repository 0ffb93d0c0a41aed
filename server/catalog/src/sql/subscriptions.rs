//! `SubscriptionRepo` over SQL. A replica claims
//! a due subscription with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite writes are
//! serialized anyway), so several replicas never sync one subscription at the same time.

const SELECT: &str = "SELECT s.id, s.peer_id, p.name AS peer_name, s.catalog_id, s.models, \
     s.interval_secs, s.visibility, s.owner_id, s.cursor, s.next_run_at, s.failures, \
     s.last_success_at, s.last_error, s.last_error_at, s.imported, s.withdrawn, s.created_at \
     FROM subscriptions s JOIN peers p ON p.id = s.peer_id";

pub(crate) fn select(filter: &str) -> String {
    format!("{SELECT}{filter} ORDER BY s.created_at, s.id")
}

macro_rules! impl_subscriptions {
    ($catalog:ty) => {
        impl $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_subscriptions(&self, id: Option<uuid::Uuid>) -> $crate::Result<Vec<$crate::SubscriptionRecord>> {
                let sql = $crate::sql::subscriptions::select(if id.is_some() { " WHERE s.id = $1" } else { "" });
                let mut query = sqlx::query_as::<_, $crate::sql::rows::SubscriptionRow>(&sql);
                if let Some(id) = id {
                    query = query.bind(id);
                }
                $crate::sql::rows::convert(query.fetch_all(self.reader()).await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::SubscriptionRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn subscriptions(&self) -> $crate::Result<Vec<$crate::SubscriptionRecord>> {
                self.list_subscriptions(None).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn subscription(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::SubscriptionRecord>> {
                Ok(self.list_subscriptions(Some(id)).await?.pop())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn schedule_subscription(&self, id: uuid::Uuid, at: $crate::Timestamp) -> $crate::Result<()> {
                sqlx::query("UPDATE subscriptions SET next_run_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_subscription(&self, new: $crate::NewSubscription, actor: &$crate::Actor) -> $crate::Result<$crate::SubscriptionRecord> {
                let now = $crate::Timestamp::now();
                let id = uuid::Uuid::new_v4();
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO subscriptions (id, peer_id, catalog_id, models, interval_secs, visibility, \
                     owner_id, cursor, next_run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
                )
                .bind(id)
                .bind(new.peer_id)
                .bind(&new.catalog_id)
                .bind(sqlx::types::Json(&new.models))
                .bind(new.interval_secs)
                .bind(new.visibility.as_str())
                .bind(new.owner_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let audit = $crate::NewAudit::new(actor, "subscription.create", format!("subscription:{id}"))
                    .with(serde_json::json!({ "peer_id": new.peer_id, "catalog_id": new.catalog_id, "models": new.models }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                self.list_subscriptions(Some(id))
                    .await?
                    .pop()
                    .ok_or_else(|| $crate::CatalogError::NotFound("subscription".into()))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_subscription(&self, id: uuid::Uuid, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let removed = sqlx::query("DELETE FROM subscriptions WHERE id = $1").bind(id).execute(&mut *tx).await?;
                if removed.rows_affected() == 0 {
                    return Err($crate::CatalogError::NotFound("subscription".into()));
                }
                Self::append_audit(&mut tx, &$crate::NewAudit::new(actor, "subscription.delete", format!("subscription:{id}")))
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn claim_due_subscription(&self, now: $crate::Timestamp, lease_until: $crate::Timestamp) -> $crate::Result<Option<$crate::SubscriptionRecord>> {
                let sql = format!(
                    "UPDATE subscriptions SET claimed_until = $2 WHERE id = (SELECT id FROM subscriptions \
                     WHERE next_run_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1) \
                     AND peer_id IN (SELECT id FROM peers WHERE status = 'active') \
                     ORDER BY next_run_at LIMIT 1{}) RETURNING id",
                    Self::SKIP_LOCKED
                );
                let claimed: Option<(uuid::Uuid,)> =
                    sqlx::query_as(&sql).bind(now).bind(lease_until).fetch_optional(self.writer()).await?;
                match claimed {
                    Some((id,)) => Ok(self.list_subscriptions(Some(id)).await?.pop()),
                    None => Ok(None),
                }
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn renew_subscription(&self, id: uuid::Uuid, lease_until: $crate::Timestamp) -> $crate::Result<bool> {
                let renewed = sqlx::query(
                    "UPDATE subscriptions SET claimed_until = $1 WHERE id = $2 AND claimed_until IS NOT NULL",
                )
                .bind(lease_until)
                .bind(id)
                .execute(self.writer())
                .await?;
                Ok(renewed.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn finish_subscription(&self, id: uuid::Uuid, outcome: $crate::SyncOutcome) -> $crate::Result<()> {
                let now = $crate::Timestamp::now();
                match outcome {
                    // Imports were counted as each was recorded (see `ImportProvenance`).
                    $crate::SyncOutcome::Success { cursor, withdrawn, next_run_at, refused } => {
                        sqlx::query(
                            "UPDATE subscriptions SET cursor = $1, \
                             withdrawn = withdrawn + $2, next_run_at = $3, last_success_at = $4, \
                             failures = 0, claimed_until = NULL, \
                             last_error = COALESCE($5, last_error), \
                             last_error_at = CASE WHEN $6 IS NULL THEN last_error_at ELSE $7 END \
                             WHERE id = $8",
                        )
                        .bind(cursor)
                        .bind(withdrawn)
                        .bind(next_run_at)
                        .bind(now)
                        .bind(refused.clone())
                        .bind(refused)
                        .bind(now)
                        .bind(id)
                        .execute(self.writer())
                        .await?;
                    }
                    $crate::SyncOutcome::Failure { error, next_run_at } => {
                        sqlx::query(
                            "UPDATE subscriptions SET last_error = $1, last_error_at = $2, \
                             failures = failures + 1, next_run_at = $3, claimed_until = NULL WHERE id = $4",
                        )
                        .bind(error)
                        .bind(now)
                        .bind(next_run_at)
                        .bind(id)
                        .execute(self.writer())
                        .await?;
                    }
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_subscriptions;
