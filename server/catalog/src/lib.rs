//! Caravan's catalog: every persistent fact about users, tokens, models, versions, aliases and
//! the audit log, behind repository traits with a SQLite and a PostgreSQL implementation.
//!
//! Both implementations share their SQL where the engines agree (`sql/`), and each keeps
//! what differs (migrations, full-text search, transaction start) in its own module. One
//! conformance suite (`tests/conformance`) runs against both.

mod error;
mod repo;
mod sql;

pub mod postgres;
pub mod sqlite;
pub mod testing;

use std::sync::Arc;

// The records the repositories read and write live in the domain; they are named here too,
// so the catalog's own code and its suite keep one path.
pub use caravan_domain::records::*;
pub use error::CatalogError;
pub use repo::{
    AuditRepo, BlobRepo, Catalog, ChangeFeed, DatasetRepo, EventRepo, FederationRepo, InstanceRepo,
    LoggedModelRepo, LoginAttemptRepo, ModelRepo, PipelineCatalog, PipelineRepo, PropertyRepo,
    SearchRepo, SocialRepo, SubscriptionRepo, TokenRepo, TrackingRepo, TriggerRepo, UploadRepo,
    UserRepo, VersionRepo,
};

/// Result of catalog operations.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// Opens the catalog named by a `sqlite://` or `postgres://` URL, running pending migrations.
pub async fn open(url: &str, max_connections: u32) -> Result<Arc<dyn Catalog>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteCatalog::open(url, max_connections).await?,
        ))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(
            postgres::PgCatalog::open(url, max_connections).await?,
        ))
    } else {
        Err(CatalogError::Config(format!(
            "database.url must start with sqlite:// or postgres://, not {:?}",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
