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
    /// The database cannot be reached (down, restarting, the pool exhausted waiting for it):
    /// a retry may pass.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
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
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => CatalogError::Unavailable(e),
            // Class 08 (connection exception), and a server shutting down or starting up.
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| {
                    c.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&c.as_ref())
                }) =>
            {
                CatalogError::Unavailable(e)
            }
            _ => CatalogError::Database(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_cannot_be_reached_is_unavailable_not_broken() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            assert!(matches!(
                CatalogError::from(e),
                CatalogError::Unavailable(_)
            ));
        }
        assert!(matches!(
            CatalogError::from(sqlx::Error::Protocol("garbled".into())),
            CatalogError::Database(_)
        ));
    }
}
