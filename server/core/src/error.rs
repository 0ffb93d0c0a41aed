//! The errors every use case can return. Each variant maps to one HTTP status in `app`.

use caravan_catalog::CatalogError;
use caravan_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Missing, invalid or expired credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but the credential lacks a scope or the user lacks a right (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the caller may not know that it does (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed or a value is invalid (400).
    #[error("{0}")]
    Invalid(String),
    /// The upload is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The upload is well-formed but not a model Caravan accepts (422).
    #[error("{0}")]
    Refused(String),
    /// A byte range outside the artifact (416).
    #[error("{0}")]
    RangeNotSatisfiable(String),
    /// At capacity: a full queue; retry shortly (503 with Retry-After).
    #[error("{0}")]
    Busy(String),
    /// Too many attempts; retry after this many seconds (429).
    #[error("too many attempts; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// A dependency failed (500); the message is logged, never shown.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        CoreError::Internal(e.to_string())
    }
}

impl From<CatalogError> for CoreError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(m) => CoreError::NotFound(m),
            CatalogError::Conflict(m) => CoreError::Conflict(m),
            CatalogError::Forbidden(m) => CoreError::Forbidden(m),
            CatalogError::InvalidInput(m) => CoreError::Invalid(m),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

impl From<StorageError> for CoreError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(m) => CoreError::Internal(format!("blob {m} is missing")),
            StorageError::BadRange => CoreError::RangeNotSatisfiable(e.to_string()),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

impl From<caravan_domain::NameError> for CoreError {
    fn from(e: caravan_domain::NameError) -> Self {
        CoreError::Invalid(e.0)
    }
}
