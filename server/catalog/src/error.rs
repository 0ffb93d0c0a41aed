use caravan_domain::ConflictKind;
use thiserror::Error;

/// What can go wrong in the catalog. Callers map `NotFound` and the conflicts to user errors
/// and everything else to a generic server error. The database's own text (which names tables
/// and constraints) stays inside `Duplicate`, `Referenced` and `Database`, for logs.
#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("not found: {0}")]
    NotFound(String),
    /// A conflict the catalog describes itself, in words for the client.
    #[error("{message}")]
    Conflict { kind: ConflictKind, message: String },
    /// A unique constraint refused the write.
    #[error("already exists")]
    Duplicate(#[source] sqlx::Error),
    /// A foreign-key constraint refused the write.
    #[error("still referenced")]
    Referenced(#[source] sqlx::Error),
    #[error("{0}")]
    InvalidInput(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database")]
    Database(#[source] sqlx::Error),
    #[error("migration")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl CatalogError {
    pub fn conflict(kind: ConflictKind, message: impl Into<String>) -> Self {
        CatalogError::Conflict {
            kind,
            message: message.into(),
        }
    }

    /// True when a unique constraint refused the write.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, CatalogError::Duplicate(_))
    }
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => CatalogError::NotFound("row".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => CatalogError::Duplicate(e),
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                CatalogError::Referenced(e)
            }
            _ => CatalogError::Database(e),
        }
    }
}
