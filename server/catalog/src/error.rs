use thiserror::Error;

/// What can go wrong in the catalog. Callers map `NotFound` and `Conflict` to user errors and
/// everything else to a generic server error.
#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl CatalogError {
    /// True when the error is a uniqueness or foreign-key violation.
    pub fn is_conflict(&self) -> bool {
        matches!(self, CatalogError::Conflict(_))
    }
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => CatalogError::NotFound("row".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                CatalogError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                CatalogError::Conflict(db.message().to_owned())
            }
            _ => CatalogError::Database(e),
        }
    }
}
