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

impl crate::Catalog for PgCatalog {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}

sql::impl_users!(PgCatalog);
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
