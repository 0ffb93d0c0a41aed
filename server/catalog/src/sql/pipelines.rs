//! `PipelineRepo` over SQL: pipelines, runs as a leased job queue, lineage (datasets are
//! `datasets.rs`).

use sqlx::types::Json;
use uuid::Uuid;

use crate::{CatalogError, LineageRecord, PipelineRecord, Result, RunRecord, RunStatus, Timestamp};

/// Queues a run numbered next for its pipeline ($1 id, $2 pipeline, $3 trigger, $4 dataset
/// version, $5 now); the caller holds the pipeline's row lock (PostgreSQL) or the writer.
pub(crate) const INSERT_QUEUED_RUN: &str = "INSERT INTO pipeline_runs (id, seq, pipeline_id, trigger, \
     dataset_version, status, not_before, created_at) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 \
     FROM pipeline_runs WHERE pipeline_id = $2), $2, $3, $4, 'queued', $5, $5)";

#[derive(sqlx::FromRow)]
pub(crate) struct PipelineRow {
    id: Uuid,
    name: String,
    owner_id: Uuid,
    owner: String,
    spec: String,
    trigger_dataset: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<PipelineRow> for PipelineRecord {
    type Error = CatalogError;
    fn try_from(r: PipelineRow) -> Result<Self> {
        Ok(PipelineRecord {
            spec: serde_json::from_str(&r.spec)
                .map_err(|e| CatalogError::Corrupt(e.to_string()))?,
            id: r.id,
            name: r.name,
            owner_id: r.owner_id,
            owner: r.owner,
            trigger_dataset: r.trigger_dataset,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    id: Uuid,
    seq: i64,
    pipeline_id: Uuid,
    pipeline: String,
    trigger: String,
    dataset_version: Option<i64>,
    status: String,
    attempt: i64,
    not_before: Timestamp,
    lease_until: Option<Timestamp>,
    cancel_requested: bool,
    steps: Json<serde_json::Value>,
    outcome: Json<serde_json::Value>,
    error: Option<String>,
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
}

impl TryFrom<RunRow> for RunRecord {
    type Error = CatalogError;
    fn try_from(r: RunRow) -> Result<Self> {
        Ok(RunRecord {
            status: RunStatus::parse(&r.status)
                .ok_or_else(|| CatalogError::Corrupt(format!("run status {}", r.status)))?,
            id: r.id,
            seq: r.seq,
            pipeline_id: r.pipeline_id,
            pipeline: r.pipeline,
            trigger: r.trigger,
            dataset_version: r.dataset_version,
            attempt: r.attempt,
            not_before: r.not_before,
            lease_until: r.lease_until,
            cancel_requested: r.cancel_requested,
            steps: r.steps.0,
            outcome: r.outcome.0,
            error: r.error,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LineageRow {
    model_id: Uuid,
    version: i64,
    run_id: Uuid,
    pipeline: String,
    dataset: Option<String>,
    dataset_version: Option<i64>,
    compared_with: Option<i64>,
    metrics: Json<serde_json::Value>,
    created_at: Timestamp,
}

impl From<LineageRow> for LineageRecord {
    fn from(r: LineageRow) -> Self {
        LineageRecord {
            model_id: r.model_id,
            version: r.version,
            run_id: r.run_id,
            pipeline: r.pipeline,
            dataset: r.dataset,
            dataset_version: r.dataset_version,
            compared_with: r.compared_with,
            metrics: r.metrics.0,
            created_at: r.created_at,
        }
    }
}

pub(crate) const PIPELINE_SELECT: &str = "SELECT p.id, p.name, p.owner_id, u.username AS owner, \
     p.spec, p.trigger_dataset, p.created_at, p.updated_at FROM pipelines p \
     JOIN users u ON u.id = p.owner_id";
pub(crate) const RUN_SELECT: &str = "SELECT r.id, r.seq, r.pipeline_id, p.name AS pipeline, \
     r.trigger, r.dataset_version, r.status, r.attempt, r.not_before, r.lease_until, \
     r.cancel_requested, r.steps, r.outcome, r.error, r.created_at, r.started_at, r.finished_at \
     FROM pipeline_runs r JOIN pipelines p ON p.id = r.pipeline_id";

macro_rules! impl_pipelines {
    ($catalog:ty) => {
        impl $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn select_pipelines(&self, filter: &str, value: Option<String>) -> $crate::Result<Vec<$crate::PipelineRecord>> {
                let sql = format!("{} {filter} ORDER BY p.name", $crate::sql::pipelines::PIPELINE_SELECT);
                let mut query = sqlx::query_as::<_, $crate::sql::pipelines::PipelineRow>(&sql);
                if let Some(value) = value {
                    query = query.bind(value);
                }
                query.fetch_all(self.reader()).await?.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn select_runs(&self, filter: &str, id: uuid::Uuid, limit: i64) -> $crate::Result<Vec<$crate::RunRecord>> {
                let sql = format!("{} {filter} ORDER BY r.seq DESC LIMIT $2", $crate::sql::pipelines::RUN_SELECT);
                let rows: Vec<$crate::sql::pipelines::RunRow> =
                    sqlx::query_as(&sql).bind(id).bind(limit).fetch_all(self.reader()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }

        #[async_trait::async_trait]
        impl $crate::PipelineRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_pipeline(&self, new: $crate::NewPipeline, actor: &$crate::Actor) -> $crate::Result<$crate::PipelineRecord> {
                let mut tx = self.begin_write().await?;
                let id = uuid::Uuid::new_v4();
                let now = $crate::Timestamp::now();
                sqlx::query(
                    "INSERT INTO pipelines (id, name, owner_id, spec, trigger_dataset, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(id).bind(&new.name).bind(new.owner_id).bind(new.spec.to_string())
                .bind(&new.trigger_dataset).bind(now)
                .execute(&mut *tx).await?;
                let audit = $crate::NewAudit::new(actor, "pipeline.create", format!("pipeline:{}", new.name));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                self.pipeline_by_id(id).await?.ok_or_else(|| $crate::CatalogError::NotFound("pipeline".into()))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn replace_pipeline(&self, id: uuid::Uuid, spec: serde_json::Value, trigger_dataset: Option<String>, actor: &$crate::Actor) -> $crate::Result<$crate::PipelineRecord> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE pipelines SET spec = $1, trigger_dataset = $2, updated_at = $3 WHERE id = $4")
                    .bind(spec.to_string()).bind(&trigger_dataset).bind($crate::Timestamp::now()).bind(id)
                    .execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err($crate::CatalogError::NotFound("pipeline".into()));
                }
                let audit = $crate::NewAudit::new(actor, "pipeline.update", format!("pipeline:{id}"));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                self.pipeline_by_id(id).await?.ok_or_else(|| $crate::CatalogError::NotFound("pipeline".into()))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_pipeline(&self, id: uuid::Uuid, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name: Option<(String,)> = sqlx::query_as("DELETE FROM pipelines WHERE id = $1 RETURNING name")
                    .bind(id).fetch_optional(&mut *tx).await?;
                let (name,) = name.ok_or_else(|| $crate::CatalogError::NotFound("pipeline".into()))?;
                let audit = $crate::NewAudit::new(actor, "pipeline.delete", format!("pipeline:{name}"));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn pipelines(&self) -> $crate::Result<Vec<$crate::PipelineRecord>> {
                self.select_pipelines("", None).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn pipeline_by_name(&self, name: &str) -> $crate::Result<Option<$crate::PipelineRecord>> {
                Ok(self.select_pipelines("WHERE p.name = $1", Some(name.to_owned())).await?.pop())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn pipeline_by_id(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::PipelineRecord>> {
                let sql = format!("{} WHERE p.id = $1", $crate::sql::pipelines::PIPELINE_SELECT);
                let row: Option<$crate::sql::pipelines::PipelineRow> =
                    sqlx::query_as(&sql).bind(id).fetch_optional(self.reader()).await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn pipelines_triggered_by(&self, dataset: &str) -> $crate::Result<Vec<$crate::PipelineRecord>> {
                self.select_pipelines("WHERE p.trigger_dataset = $1", Some(dataset.to_owned())).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn enqueue_run(&self, pipeline_id: uuid::Uuid, trigger: &str, dataset_version: Option<i64>) -> $crate::Result<$crate::RunRecord> {
                let mut tx = self.begin_write().await?;
                let id = uuid::Uuid::new_v4();
                let now = $crate::Timestamp::now();
                // Runs are numbered per pipeline: lock the pipeline first, so concurrent
                // enqueues take the next number one after the other (on PostgreSQL; SQLite
                // writes one at a time anyway). An unknown pipeline is refused here.
                let lock = format!("SELECT id FROM pipelines WHERE id = $1{}", Self::FOR_UPDATE);
                let locked: Option<(uuid::Uuid,)> =
                    sqlx::query_as(&lock).bind(pipeline_id).fetch_optional(&mut *tx).await?;
                if locked.is_none() {
                    return Err($crate::CatalogError::NotFound("pipeline".into()));
                }
                sqlx::query($crate::sql::pipelines::INSERT_QUEUED_RUN)
                .bind(id).bind(pipeline_id).bind(trigger).bind(dataset_version).bind(now)
                .execute(&mut *tx).await?;
                tx.commit().await?;
                self.run(id).await?.ok_or_else(|| $crate::CatalogError::NotFound("run".into()))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn claim_run(&self, now: $crate::Timestamp, lease_until: $crate::Timestamp, max_running: i64) -> $crate::Result<Option<$crate::RunRecord>> {
                let mut tx = self.begin_write().await?;
                // Claims wait for each other (SQLite: its one writer), so the count holds.
                Self::serialize_run_claims(&mut tx).await?;
                let (running,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM pipeline_runs WHERE status = 'running' AND lease_until >= $1",
                )
                .bind(now).fetch_one(&mut *tx).await?;
                if running >= max_running {
                    return Ok(None);
                }
                let sql = format!(
                    "UPDATE pipeline_runs SET status = 'running', lease_until = $2, attempt = attempt + 1, \
                     started_at = COALESCE(started_at, $1) WHERE id = (SELECT id FROM pipeline_runs \
                     WHERE (status = 'queued' AND not_before <= $1) OR (status = 'running' AND lease_until < $1) \
                     ORDER BY not_before, seq LIMIT 1{}) RETURNING id",
                    Self::SKIP_LOCKED
                );
                let claimed: Option<(uuid::Uuid,)> =
                    sqlx::query_as(&sql).bind(now).bind(lease_until).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                match claimed {
                    Some((id,)) => self.run(id).await,
                    None => Ok(None),
                }
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn save_run(&self, id: uuid::Uuid, attempt: i64, steps: &serde_json::Value, lease_until: $crate::Timestamp) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "UPDATE pipeline_runs SET steps = $1, lease_until = $2 WHERE id = $3 AND status = 'running' AND attempt = $4",
                )
                .bind(sqlx::types::Json(steps)).bind(lease_until).bind(id).bind(attempt)
                .execute(self.writer()).await?;
                let cancelled: Option<(bool,)> = sqlx::query_as("SELECT cancel_requested FROM pipeline_runs WHERE id = $1")
                    .bind(id).fetch_optional(self.writer()).await?;
                Ok(done.rows_affected() == 1 && !cancelled.is_some_and(|(c,)| c))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn end_run(&self, id: uuid::Uuid, attempt: i64, end: $crate::RunEnd) -> $crate::Result<bool> {
                let now = $crate::Timestamp::now();
                let finished = end.status.is_finished().then_some(now);
                let done = sqlx::query(
                    "UPDATE pipeline_runs SET status = $1, steps = $2, outcome = $3, error = $4, \
                     not_before = COALESCE($5, not_before), lease_until = NULL, finished_at = $6 WHERE id = $7 AND attempt = $8",
                )
                .bind(end.status.as_str()).bind(sqlx::types::Json(&end.steps)).bind(sqlx::types::Json(&end.outcome))
                .bind(&end.error).bind(end.retry_at).bind(finished).bind(id).bind(attempt)
                .execute(self.writer()).await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn runs(&self, pipeline_id: uuid::Uuid, limit: i64) -> $crate::Result<Vec<$crate::RunRecord>> {
                self.select_runs("WHERE r.pipeline_id = $1", pipeline_id, limit).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn run(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::RunRecord>> {
                Ok(self.select_runs("WHERE r.id = $1", id, 1).await?.pop())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn cancel_run(&self, id: uuid::Uuid, actor: &$crate::Actor) -> $crate::Result<Option<$crate::RunRecord>> {
                let mut tx = self.begin_write().await?;
                let now = $crate::Timestamp::now();
                let cancelled = sqlx::query(
                    "UPDATE pipeline_runs SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, \
                     finished_at = CASE WHEN status = 'queued' THEN $1 ELSE finished_at END, \
                     cancel_requested = CASE WHEN status IN ('queued', 'running') THEN TRUE ELSE cancel_requested END \
                     WHERE id = $2 AND status IN ('queued', 'running')",
                )
                .bind(now).bind(id).execute(&mut *tx).await?;
                // Only a cancellation that changed something is worth an audit entry.
                if cancelled.rows_affected() > 0 {
                    let audit = $crate::NewAudit::new(actor, "pipeline.run.cancel", format!("run:{id}"));
                    Self::append_audit(&mut tx, &audit).await?;
                }
                tx.commit().await?;
                self.run(id).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_lineage(&self, l: $crate::LineageRecord) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO version_lineage (model_id, version, run_id, pipeline, dataset, dataset_version, \
                     compared_with, metrics, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (model_id, version) DO UPDATE SET compared_with = excluded.compared_with, \
                     metrics = excluded.metrics",
                )
                .bind(l.model_id).bind(l.version).bind(l.run_id).bind(&l.pipeline).bind(&l.dataset)
                .bind(l.dataset_version).bind(l.compared_with).bind(sqlx::types::Json(&l.metrics)).bind(l.created_at)
                .execute(self.writer()).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn lineage(&self, model_id: uuid::Uuid, version: i64) -> $crate::Result<Option<$crate::LineageRecord>> {
                let row: Option<$crate::sql::pipelines::LineageRow> = sqlx::query_as(
                    "SELECT * FROM version_lineage WHERE model_id = $1 AND version = $2",
                )
                .bind(model_id).bind(version).fetch_optional(self.reader()).await?;
                Ok(row.map(Into::into))
            }
        }
    };
}

pub(crate) use impl_pipelines;
