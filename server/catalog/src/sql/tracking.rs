//! `TrackingRepo` over SQL, part one: experiments and runs with their params, tags and
//! metric history. (Logged models and version sources: `logged_models.rs`.)

use uuid::Uuid;

use crate::{ExperimentRecord, MetricValue, TrackedRun};

#[derive(sqlx::FromRow)]
pub(crate) struct ExperimentRow {
    id: i64,
    name: String,
    owner_id: Option<Uuid>,
    lifecycle_stage: String,
    created_ms: i64,
    updated_ms: i64,
}

impl From<ExperimentRow> for ExperimentRecord {
    fn from(r: ExperimentRow) -> Self {
        ExperimentRecord {
            id: r.id,
            name: r.name,
            owner_id: r.owner_id,
            lifecycle_stage: r.lifecycle_stage,
            created_ms: r.created_ms,
            updated_ms: r.updated_ms,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TrackedRunRow {
    id: String,
    experiment_id: i64,
    owner_id: Uuid,
    owner: String,
    name: String,
    status: String,
    start_ms: i64,
    end_ms: Option<i64>,
    lifecycle_stage: String,
}

impl From<TrackedRunRow> for TrackedRun {
    fn from(r: TrackedRunRow) -> Self {
        TrackedRun {
            id: r.id,
            experiment_id: r.experiment_id,
            owner_id: r.owner_id,
            owner: r.owner,
            name: r.name,
            status: r.status,
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            lifecycle_stage: r.lifecycle_stage,
        }
    }
}

pub(crate) const RUN_SELECT: &str = "SELECT r.id, r.experiment_id, r.owner_id, u.username AS owner, \
     r.name, r.status, r.start_ms, r.end_ms, r.lifecycle_stage \
     FROM mlflow_runs r JOIN users u ON u.id = r.owner_id WHERE r.id = $1";

/// A metric row: key, value, is_nan, timestamp, step.
pub(crate) type MetricRow = (String, f64, bool, i64, i64);

pub(crate) fn metric(row: MetricRow) -> MetricValue {
    let (key, value, is_nan, timestamp_ms, step) = row;
    MetricValue {
        key,
        value: (!is_nan).then_some(value),
        timestamp_ms,
        step,
    }
}

/// Each metric's latest value: the highest step, then the latest timestamp (then the
/// largest value, NaN before the 0.0 it is stored as, so that the answer is one row).
pub(crate) const LATEST_METRICS: &str = "SELECT key, value, is_nan, timestamp_ms, step FROM \
     (SELECT key, value, is_nan, timestamp_ms, step, ROW_NUMBER() OVER \
      (PARTITION BY key ORDER BY step DESC, timestamp_ms DESC, value DESC, is_nan DESC) AS rank \
      FROM mlflow_run_metrics WHERE run_id = $1) latest WHERE rank = 1 ORDER BY key";

macro_rules! impl_tracking {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::TrackingRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_experiment(&self, name: &str, owner_id: uuid::Uuid, now_ms: i64)
                -> $crate::Result<$crate::ExperimentRecord> {
                let row: $crate::sql::tracking::ExperimentRow = sqlx::query_as(
                    "INSERT INTO mlflow_experiments (name, owner_id, created_ms, updated_ms) \
                     VALUES ($1, $2, $3, $3) RETURNING *",
                )
                .bind(name).bind(owner_id).bind(now_ms)
                .fetch_one(self.writer()).await
                .map_err(|e| match $crate::CatalogError::from(e) {
                    d if d.is_duplicate() => $crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::AlreadyExists,
                        format!("experiment {name:?} already exists"),
                    ),
                    other => other,
                })?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn experiment(&self, id: i64) -> $crate::Result<Option<$crate::ExperimentRecord>> {
                let row: Option<$crate::sql::tracking::ExperimentRow> =
                    sqlx::query_as("SELECT * FROM mlflow_experiments WHERE id = $1")
                        .bind(id).fetch_optional(self.reader()).await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn experiment_by_name(&self, name: &str) -> $crate::Result<Option<$crate::ExperimentRecord>> {
                let row: Option<$crate::sql::tracking::ExperimentRow> =
                    sqlx::query_as("SELECT * FROM mlflow_experiments WHERE name = $1")
                        .bind(name).fetch_optional(self.reader()).await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_run(&self, run: $crate::NewTrackedRun) -> $crate::Result<$crate::TrackedRun> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO mlflow_runs (id, experiment_id, owner_id, name, status, start_ms) \
                     VALUES ($1, $2, $3, $4, 'RUNNING', $5)",
                )
                .bind(&run.id).bind(run.experiment_id).bind(run.owner_id).bind(&run.name)
                .bind(run.start_ms)
                .execute(&mut *tx).await
                .map_err(|e| match $crate::CatalogError::from(e) {
                    d if d.is_duplicate() => $crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::AlreadyExists, "the run exists already"),
                    other => other,
                })?;
                for (key, value) in &run.tags {
                    sqlx::query("INSERT INTO mlflow_run_tags (run_id, key, value) VALUES ($1, $2, $3) \
                                 ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value")
                        .bind(&run.id).bind(key).bind(value).execute(&mut *tx).await?;
                }
                let row: $crate::sql::tracking::TrackedRunRow =
                    sqlx::query_as($crate::sql::tracking::RUN_SELECT)
                        .bind(&run.id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn tracked_run(&self, id: &str) -> $crate::Result<Option<$crate::TrackedRun>> {
                let row: Option<$crate::sql::tracking::TrackedRunRow> =
                    sqlx::query_as($crate::sql::tracking::RUN_SELECT)
                        .bind(id).fetch_optional(self.reader()).await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn tracked_run_data(&self, id: &str) -> $crate::Result<$crate::TrackedRunData> {
                let params: Vec<(String, String)> =
                    sqlx::query_as("SELECT key, value FROM mlflow_run_params WHERE run_id = $1")
                        .bind(id).fetch_all(self.reader()).await?;
                let tags: Vec<(String, String)> =
                    sqlx::query_as("SELECT key, value FROM mlflow_run_tags WHERE run_id = $1")
                        .bind(id).fetch_all(self.reader()).await?;
                let metrics: Vec<$crate::sql::tracking::MetricRow> =
                    sqlx::query_as($crate::sql::tracking::LATEST_METRICS)
                        .bind(id).fetch_all(self.reader()).await?;
                let outputs: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT model_id, step FROM mlflow_run_outputs WHERE run_id = $1 ORDER BY model_id",
                )
                .bind(id).fetch_all(self.reader()).await?;
                let history: Vec<(String,)> = sqlx::query_as(
                    "SELECT model_json FROM mlflow_run_model_history WHERE run_id = $1 ORDER BY id",
                )
                .bind(id).fetch_all(self.reader()).await?;
                Ok($crate::TrackedRunData {
                    params: params.into_iter().collect(),
                    tags: tags.into_iter().collect(),
                    metrics: metrics.into_iter().map($crate::sql::tracking::metric).collect(),
                    outputs,
                    model_history: history.into_iter().map(|(json,)| json).collect(),
                })
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn metric_history(&self, run_id: &str, key: &str, limit: i64)
                -> $crate::Result<Vec<$crate::MetricValue>> {
                let rows: Vec<$crate::sql::tracking::MetricRow> = sqlx::query_as(
                    "SELECT key, value, is_nan, timestamp_ms, step FROM mlflow_run_metrics \
                     WHERE run_id = $1 AND key = $2 ORDER BY step, timestamp_ms LIMIT $3",
                )
                .bind(run_id).bind(key).bind(limit).fetch_all(self.reader()).await?;
                Ok(rows.into_iter().map($crate::sql::tracking::metric).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_run_model(&self, run_id: &str, model_json: &str, max_models: i64, max_chars: i64)
                -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                // Touching the run's row first locks it (on PostgreSQL), so that two records at
                // once cannot both pass the limits below.
                sqlx::query("UPDATE mlflow_runs SET id = id WHERE id = $1")
                    .bind(run_id).execute(&mut *tx).await?;
                let inserted = sqlx::query(
                    "INSERT INTO mlflow_run_model_history (run_id, model_json) SELECT $1, $2 \
                     WHERE (SELECT COUNT(*) FROM mlflow_run_model_history WHERE run_id = $1) < $3 \
                     AND (SELECT COALESCE(SUM(length(model_json)), 0) FROM mlflow_run_model_history \
                          WHERE run_id = $1) + length($2) <= $4",
                )
                .bind(run_id).bind(model_json).bind(max_models).bind(max_chars).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(inserted.rows_affected() > 0)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn log_outputs(&self, run_id: &str, outputs: &[(String, i64)]) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                for (model_id, step) in outputs {
                    sqlx::query(
                        "INSERT INTO mlflow_run_outputs (run_id, model_id, step) VALUES ($1, $2, $3) \
                         ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step",
                    )
                    .bind(run_id).bind(model_id).bind(step).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn update_tracked_run(&self, id: &str, status: Option<&str>, end_ms: Option<i64>, name: Option<&str>)
                -> $crate::Result<bool> {
                let updated = sqlx::query(
                    "UPDATE mlflow_runs SET status = COALESCE($2, status), end_ms = COALESCE($3, end_ms), \
                     name = COALESCE($4, name) WHERE id = $1",
                )
                .bind(id).bind(status).bind(end_ms).bind(name)
                .execute(self.writer()).await?;
                Ok(updated.rows_affected() > 0)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn log_batch(&self, run_id: &str, batch: $crate::TrackedRunBatch) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                for (key, value) in &batch.params {
                    // Insert first (a concurrent identical re-log is no conflict), then compare.
                    sqlx::query("INSERT INTO mlflow_run_params (run_id, key, value) VALUES ($1, $2, $3) \
                                 ON CONFLICT (run_id, key) DO NOTHING")
                        .bind(run_id).bind(key).bind(value).execute(&mut *tx).await?;
                    let (kept,): (String,) = sqlx::query_as(
                        "SELECT value FROM mlflow_run_params WHERE run_id = $1 AND key = $2",
                    )
                    .bind(run_id).bind(key).fetch_one(&mut *tx).await?;
                    if kept != *value {
                        return Err($crate::CatalogError::conflict(
                            caravan_domain::ConflictKind::InvalidState,
                            format!("param {key:?} was logged as {kept:?}; params cannot change (logged again as {value:?})"),
                        ));
                    }
                }
                for (key, value) in &batch.tags {
                    sqlx::query("INSERT INTO mlflow_run_tags (run_id, key, value) VALUES ($1, $2, $3) \
                                 ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value")
                        .bind(run_id).bind(key).bind(value).execute(&mut *tx).await?;
                }
                for m in &batch.metrics {
                    // The same value at the same step and time again is one row, as in MLflow.
                    sqlx::query("INSERT INTO mlflow_run_metrics (run_id, key, value, is_nan, timestamp_ms, step) \
                                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
                        .bind(run_id).bind(&m.key).bind(m.value.unwrap_or(0.0)).bind(m.value.is_none())
                        .bind(m.timestamp_ms).bind(m.step)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_tracking;
