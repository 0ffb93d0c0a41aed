//! The PostgreSQL catalog (production). Rows are locked with `FOR UPDATE` where a transaction
//! reads before it writes.

use std::time::Duration;

use sqlx::{PgPool, Postgres, QueryBuilder, Transaction, postgres::PgPoolOptions};

use crate::{Result, sql};

/// A catalog in a PostgreSQL database.
#[derive(Clone)]
pub struct PgCatalog {
    pool: PgPool,
}

impl PgCatalog {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }

    /// Lock suffix for claiming queue rows other replicas may be claiming.
    const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
    const FOR_UPDATE: &str = " FOR UPDATE";
    const FTS_JOIN: &str = "";

    /// Makes run claims wait for each other until the claiming transaction ends, so a count
    /// of running runs stays true until the claim commits (a transaction-level advisory lock).
    async fn serialize_run_claims(tx: &mut Transaction<'static, Postgres>) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('caravan.run_claims'))")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// tsquery: every word as a prefix term, all required.
    fn fts_query(terms: &[String]) -> String {
        terms
            .iter()
            .map(|t| format!("{t}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    fn push_fts_match(b: &mut QueryBuilder<'_, Postgres>, query: String) {
        b.push("m.search @@ to_tsquery('simple', ")
            .push_bind(query)
            .push(")");
    }

    /// Negated `ts_rank`, so that lower is better as with SQLite's BM25.
    fn push_fts_rank(b: &mut QueryBuilder<'_, Postgres>, query: String) {
        b.push("-ts_rank(m.search, to_tsquery('simple', ")
            .push_bind(query)
            .push("))");
    }
}

/// The channel replicas announce changes on.
const CHANGES: &str = "caravan_changes";

#[async_trait::async_trait]
impl crate::ChangeFeed for PgCatalog {
    async fn announce(&self, change: &crate::Change) -> Result<()> {
        let payload = serde_json::to_string(change)
            .map_err(|e| crate::CatalogError::Corrupt(e.to_string()))?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::Receiver<crate::Change>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGES).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                let change = match listener.try_recv().await {
                    Ok(Some(n)) => match serde_json::from_str(n.payload()) {
                        Ok(change) => change,
                        Err(e) => {
                            tracing::warn!(error = %e, "an unreadable change notification");
                            continue;
                        }
                    },
                    // The connection was lost; it is re-established on the next call, and
                    // re-subscribed. What was announced meanwhile is unknown.
                    Ok(None) => crate::Change::Resync,
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for changes failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        crate::Change::Resync
                    }
                };
                // A full channel means the receiver lags: it drops everything cached anyway.
                let sent = match tx.try_send(change) {
                    Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                        tx.send(crate::Change::Resync).await
                    }
                    other => other
                        .map_err(|_| tokio::sync::mpsc::error::SendError(crate::Change::Resync)),
                };
                if sent.is_err() {
                    return; // nobody listens any more
                }
            }
        });
        Ok(Some(rx))
    }
}

impl crate::Catalog for PgCatalog {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}

sql::impl_users!(PgCatalog);
sql::impl_login_attempts!(PgCatalog);
sql::impl_uploads!(PgCatalog);
sql::impl_properties!(PgCatalog);
sql::impl_tracking!(PgCatalog);
sql::impl_logged_models!(PgCatalog);
sql::impl_tokens!(PgCatalog);
sql::impl_blobs!(PgCatalog);
sql::impl_audit!(PgCatalog, Postgres);
sql::impl_models!(PgCatalog, Postgres);
sql::impl_versions!(PgCatalog, Postgres);
sql::impl_search!(PgCatalog, Postgres);
sql::impl_peers!(PgCatalog);
sql::impl_subscriptions!(PgCatalog);
sql::impl_social!(PgCatalog);
sql::impl_datasets!(PgCatalog);
sql::impl_pipelines!(PgCatalog);
sql::impl_triggers!(PgCatalog);
sql::impl_events!(PgCatalog);
