//! `EventRepo` over SQL: where events go (hooks) and the outbox they are delivered from.

use sqlx::types::Json;
use uuid::Uuid;

use crate::{HookRecord, OutboxRecord, Timestamp};

#[derive(sqlx::FromRow)]
pub(crate) struct HookRow {
    id: Uuid,
    url: String,
    events: Json<Vec<String>>,
    secret: String,
    created_by: String,
    created_at: Timestamp,
}

impl From<HookRow> for HookRecord {
    fn from(r: HookRow) -> Self {
        HookRecord {
            id: r.id,
            url: r.url,
            events: r.events.0,
            secret: r.secret,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: i64,
    hook_id: Uuid,
    url: String,
    secret: String,
    event: Json<serde_json::Value>,
    attempts: i64,
    delivered_at: Option<Timestamp>,
    failed_at: Option<Timestamp>,
    last_error: Option<String>,
    created_at: Timestamp,
}

impl From<OutboxRow> for OutboxRecord {
    fn from(r: OutboxRow) -> Self {
        OutboxRecord {
            id: r.id,
            hook_id: r.hook_id,
            url: r.url,
            secret: r.secret,
            event: r.event.0,
            attempts: r.attempts,
            delivered_at: r.delivered_at,
            failed_at: r.failed_at,
            last_error: r.last_error,
            created_at: r.created_at,
        }
    }
}

pub(crate) const OUTBOX_SELECT: &str = "SELECT o.id, o.hook_id, h.url, h.secret, o.event, o.attempts, \
     o.delivered_at, o.failed_at, o.last_error, o.created_at FROM event_outbox o JOIN event_hooks h ON h.id = o.hook_id";

macro_rules! impl_events {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::EventRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_hook(&self, url: &str, events: &[String], secret: &str, actor: &$crate::Actor) -> $crate::Result<$crate::HookRecord> {
                let mut tx = self.begin_write().await?;
                let id = uuid::Uuid::new_v4();
                let row: $crate::sql::events::HookRow = sqlx::query_as(
                    "INSERT INTO event_hooks (id, url, events, secret, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
                )
                .bind(id).bind(url).bind(sqlx::types::Json(events)).bind(secret).bind(&actor.username).bind($crate::Timestamp::now())
                .fetch_one(&mut *tx).await?;
                let audit = $crate::NewAudit::new(actor, "webhook.create", format!("webhook:{id}")).with(serde_json::json!({ "url": url, "events": events }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn hooks(&self) -> $crate::Result<Vec<$crate::HookRecord>> {
                let rows: Vec<$crate::sql::events::HookRow> =
                    sqlx::query_as("SELECT * FROM event_hooks ORDER BY created_at").fetch_all(self.reader()).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_hook(&self, id: uuid::Uuid, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM event_hooks WHERE id = $1").bind(id).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err($crate::CatalogError::NotFound("webhook".into()));
                }
                let audit = $crate::NewAudit::new(actor, "webhook.delete", format!("webhook:{id}"));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn enqueue_event(&self, event_type: &str, event: &serde_json::Value) -> $crate::Result<usize> {
                let mut tx = self.begin_write().await?;
                let hooks: Vec<$crate::sql::events::HookRow> =
                    sqlx::query_as("SELECT * FROM event_hooks").fetch_all(&mut *tx).await?;
                let now = $crate::Timestamp::now();
                let mut queued = 0;
                for hook in hooks.into_iter().map($crate::HookRecord::from) {
                    if !hook.events.iter().any(|e| e == event_type || e == "*") {
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO event_outbox (hook_id, event, next_attempt_at, created_at) VALUES ($1, $2, $3, $3)",
                    )
                    .bind(hook.id).bind(sqlx::types::Json(event)).bind(now).execute(&mut *tx).await?;
                    queued += 1;
                }
                tx.commit().await?;
                Ok(queued)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn claim_outbox(&self, now: $crate::Timestamp, lease_until: $crate::Timestamp, limit: i64) -> $crate::Result<Vec<$crate::OutboxRecord>> {
                let sql = format!(
                    "UPDATE event_outbox SET next_attempt_at = $2, attempts = attempts + 1 WHERE id IN \
                     (SELECT id FROM event_outbox WHERE delivered_at IS NULL AND failed_at IS NULL \
                     AND next_attempt_at <= $1 ORDER BY id LIMIT $3{}) RETURNING id",
                    Self::SKIP_LOCKED
                );
                let ids: Vec<(i64,)> = sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(self.writer()).await?;
                let mut claimed = Vec::new();
                for (id,) in ids {
                    let row: Option<$crate::sql::events::OutboxRow> = sqlx::query_as(&format!("{} WHERE o.id = $1", $crate::sql::events::OUTBOX_SELECT))
                        .bind(id).fetch_optional(self.writer()).await?;
                    claimed.extend(row.map(Into::into));
                }
                Ok(claimed)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn outbox_delivered(&self, id: i64) -> $crate::Result<()> {
                sqlx::query("UPDATE event_outbox SET delivered_at = $1, last_error = NULL WHERE id = $2")
                    .bind($crate::Timestamp::now()).bind(id).execute(self.writer()).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn outbox_failed(&self, id: i64, error: &str, retry_at: Option<$crate::Timestamp>) -> $crate::Result<()> {
                let now = $crate::Timestamp::now();
                sqlx::query(
                    "UPDATE event_outbox SET last_error = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
                     failed_at = CASE WHEN $3 THEN $4 ELSE NULL END WHERE id = $5",
                )
                .bind(error).bind(retry_at).bind(retry_at.is_none()).bind(now).bind(id)
                .execute(self.writer()).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn hook_deliveries(&self, hook_id: uuid::Uuid, limit: i64) -> $crate::Result<Vec<$crate::OutboxRecord>> {
                let rows: Vec<$crate::sql::events::OutboxRow> = sqlx::query_as(&format!(
                    "{} WHERE o.hook_id = $1 ORDER BY o.id DESC LIMIT $2", $crate::sql::events::OUTBOX_SELECT
                ))
                .bind(hook_id).bind(limit).fetch_all(self.reader()).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}

pub(crate) use impl_events;
