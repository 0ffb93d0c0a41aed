//! `TriggerRepo` over SQL: cron schedules (advanced with compare-and-set in the transaction
//! that queues the run, so one replica queues each firing and none is lost halfway) and the incoming webhook's secrets and seen signatures.

macro_rules! impl_triggers {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::TriggerRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_schedule(&self, pipeline_id: uuid::Uuid, next: Option<$crate::Timestamp>) -> $crate::Result<()> {
                sqlx::query("UPDATE pipelines SET next_scheduled_at = $1 WHERE id = $2")
                    .bind(next).bind(pipeline_id).execute(self.writer()).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn due_schedules(&self, now: $crate::Timestamp) -> $crate::Result<Vec<(uuid::Uuid, $crate::Timestamp)>> {
                Ok(sqlx::query_as(
                    "SELECT id, next_scheduled_at FROM pipelines WHERE next_scheduled_at <= $1 ORDER BY next_scheduled_at",
                )
                .bind(now).fetch_all(self.reader()).await?)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn fire_schedule(&self, pipeline_id: uuid::Uuid, from: $crate::Timestamp, to: Option<$crate::Timestamp>, trigger: &str) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                // The compare-and-set also locks the pipeline's row until commit (PostgreSQL),
                // as enqueueing a run does, so the run's number and the queued check hold.
                let moved = sqlx::query("UPDATE pipelines SET next_scheduled_at = $1 WHERE id = $2 AND next_scheduled_at = $3")
                    .bind(to).bind(pipeline_id).bind(from).execute(&mut *tx).await?;
                if moved.rows_affected() != 1 {
                    return Ok(false);
                }
                // A run still waiting covers this firing too: slow runs never pile up.
                let (waiting,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM pipeline_runs WHERE pipeline_id = $1 AND status = 'queued'",
                )
                .bind(pipeline_id).fetch_one(&mut *tx).await?;
                if waiting == 0 {
                    sqlx::query($crate::sql::pipelines::INSERT_QUEUED_RUN)
                        .bind(uuid::Uuid::new_v4()).bind(pipeline_id).bind(trigger)
                        .bind(None::<i64>).bind($crate::Timestamp::now())
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn webhook_secrets(&self, pipeline_id: uuid::Uuid) -> $crate::Result<Vec<String>> {
                let row: Option<(sqlx::types::Json<Vec<String>>,)> =
                    sqlx::query_as("SELECT webhook_secrets FROM pipelines WHERE id = $1")
                        .bind(pipeline_id).fetch_optional(self.reader()).await?;
                Ok(row.map(|(s,)| s.0).unwrap_or_default())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_webhook_secrets(&self, pipeline_id: uuid::Uuid, secrets: &[String], actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let updated = sqlx::query("UPDATE pipelines SET webhook_secrets = $1 WHERE id = $2")
                    .bind(sqlx::types::Json(secrets)).bind(pipeline_id).execute(&mut *tx).await?;
                if updated.rows_affected() == 0 {
                    return Err($crate::CatalogError::NotFound("pipeline".into()));
                }
                let audit = $crate::NewAudit::new(actor, "pipeline.webhook.rotate", format!("pipeline:{pipeline_id}"));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_delivery(&self, pipeline_id: uuid::Uuid, signature: &str, at: $crate::Timestamp) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO webhook_deliveries (pipeline_id, signature, received_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (pipeline_id, signature) DO NOTHING",
                )
                .bind(pipeline_id).bind(signature).bind(at).execute(self.writer()).await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn report_run(&self, run_id: uuid::Uuid, r: &$crate::RunReport) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO run_reports (run_id, succeeded, version, error, reported_by, reported_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id) DO NOTHING",
                )
                .bind(run_id).bind(r.succeeded).bind(r.version).bind(&r.error).bind(&r.reported_by).bind(r.reported_at)
                .execute(self.writer()).await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn run_report(&self, run_id: uuid::Uuid) -> $crate::Result<Option<$crate::RunReport>> {
                let row: Option<(bool, Option<i64>, Option<String>, String, $crate::Timestamp)> = sqlx::query_as(
                    "SELECT succeeded, version, error, reported_by, reported_at FROM run_reports WHERE run_id = $1",
                )
                .bind(run_id).fetch_optional(self.writer()).await?;
                Ok(row.map(|(succeeded, version, error, reported_by, reported_at)| $crate::RunReport {
                    succeeded, version, error, reported_by, reported_at,
                }))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn prune_deliveries(&self, before: $crate::Timestamp) -> $crate::Result<()> {
                sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
                    .bind(before).execute(self.writer()).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_triggers;
