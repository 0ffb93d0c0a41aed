//! The errors every use case can return, each saying what it is about, and the one table that
//! gives each kind its HTTP status and stable code ([`CoreError::class`]). Every surface (the
//! Caravan API and V2 JSON, the E5 envelope, the web UI's pages, the compatibility APIs)
//! renders from that table; none matches on messages.
//!
//! What a client may read is [`CoreError::public_message`]: the message of a client error, and
//! for an internal one a generic sentence. Database, storage and engine text never reaches a
//! client: an internal error keeps its cause chain for the log ([`CoreError::log`]), written
//! once, in the request's span.

use std::error::Error as StdError;

use caravan_catalog::CatalogError;
use caravan_storage::StorageError;

pub use caravan_domain::{ConflictKind, Subject};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Missing, invalid or expired credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but the credential lacks a scope or the user lacks a right.
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{message}")]
    NotFound { subject: Subject, message: String },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict { kind: ConflictKind, message: String },
    /// The request is malformed or a value is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The upload is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// The upload is well-formed but not a model (or dataset) Caravan accepts.
    #[error("{0}")]
    Refused(String),
    /// The request is valid but needs more than a limit allows (memory, time).
    #[error("{0}")]
    LimitExceeded(String),
    /// A byte range outside the artifact.
    #[error("{0}")]
    RangeNotSatisfiable(String),
    /// At capacity: a full queue; retry shortly.
    #[error("{0}")]
    Busy(String),
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The database or the object store cannot be reached right now; never shown beyond this
    /// sentence, logged with its causes like `Internal`.
    #[error("a service Caravan depends on is unavailable; retry shortly")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// Caravan or a dependency failed; never shown, logged with its causes. Its own text is
    /// the generic sentence, so that formatting the error anywhere shows nothing of the cause.
    #[error("internal server error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// A kind's status and code: the same on every surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorClass {
    pub status: u16,
    /// Stable and machine-readable (`not_found`, `conflict`, ...).
    pub code: &'static str,
    /// Seconds after which a retry may succeed.
    pub retry_after: Option<u64>,
}

const fn class(status: u16, code: &'static str) -> ErrorClass {
    ErrorClass {
        status,
        code,
        retry_after: None,
    }
}

/// What clients read instead of an internal error's text.
pub const INTERNAL_MESSAGE: &str = "internal server error";
// (The `Internal` variant's own text above is the same sentence.)

impl CoreError {
    pub fn not_found(subject: Subject, message: impl Into<String>) -> Self {
        CoreError::NotFound {
            subject,
            message: message.into(),
        }
    }

    pub fn conflict(kind: ConflictKind, message: impl Into<String>) -> Self {
        CoreError::Conflict {
            kind,
            message: message.into(),
        }
    }

    /// An internal error from its cause (an error, or a sentence for the log).
    pub fn internal(cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        CoreError::Internal(cause.into())
    }

    /// The one table from kind to status and code.
    pub fn class(&self) -> ErrorClass {
        match self {
            CoreError::Unauthenticated(_) => class(401, "unauthenticated"),
            CoreError::Forbidden(_) => class(403, "forbidden"),
            CoreError::NotFound { .. } => class(404, "not_found"),
            CoreError::Conflict { .. } => class(409, "conflict"),
            CoreError::Invalid(_) => class(400, "invalid_request"),
            CoreError::TooLarge(_) => class(413, "payload_too_large"),
            CoreError::Refused(_) => class(422, "model_refused"),
            CoreError::LimitExceeded(_) => class(422, "limit_exceeded"),
            CoreError::RangeNotSatisfiable(_) => class(416, "range_not_satisfiable"),
            CoreError::Busy(_) => ErrorClass {
                retry_after: Some(1),
                ..class(503, "busy")
            },
            CoreError::RateLimited { retry_after } => ErrorClass {
                retry_after: Some(*retry_after),
                ..class(429, "rate_limited")
            },
            CoreError::Unavailable(_) => ErrorClass {
                retry_after: Some(2),
                ..class(503, "unavailable")
            },
            CoreError::Internal(_) => class(500, "internal"),
        }
    }

    /// What a client may read.
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// Logs an internal error with its whole cause chain (client errors are not logged: they
    /// are the client's). Call it once, where the error is rendered, inside the request span.
    pub fn log(&self) {
        match self {
            CoreError::Internal(cause) => {
                tracing::error!(cause = %chain(cause.as_ref()), "request failed");
            }
            CoreError::Unavailable(cause) => {
                tracing::warn!(cause = %chain(cause.as_ref()), "a dependency is unavailable");
            }
            _ => {}
        }
    }

    /// The cause chain of an internal error, for logs; `None` for client errors.
    pub fn cause(&self) -> Option<String> {
        match self {
            CoreError::Internal(cause) | CoreError::Unavailable(cause) => {
                Some(chain(cause.as_ref()))
            }
            _ => None,
        }
    }
}

/// `error: cause: cause ...`, every source in order.
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

impl From<CatalogError> for CoreError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(m) => CoreError::not_found(Subject::Other, m),
            CatalogError::Conflict { kind, message } => CoreError::conflict(kind, message),
            // The database's own words name tables and constraints: logged, never shown.
            CatalogError::Duplicate(source) => {
                tracing::debug!(%source, "unique constraint");
                CoreError::conflict(ConflictKind::AlreadyExists, "it already exists")
            }
            CatalogError::Referenced(source) => {
                tracing::debug!(%source, "foreign key constraint");
                CoreError::conflict(ConflictKind::InUse, "it is still referenced")
            }
            CatalogError::Forbidden(m) => CoreError::Forbidden(m),
            CatalogError::InvalidInput(m) => CoreError::Invalid(m),
            unavailable @ CatalogError::Unavailable(_) => {
                CoreError::Unavailable(Box::new(unavailable))
            }
            other => CoreError::internal(other),
        }
    }
}

impl From<StorageError> for CoreError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::BadRange => CoreError::RangeNotSatisfiable(e.to_string()),
            StorageError::Conflict(m) => CoreError::Invalid(m),
            // The store did not answer or refused for now (S3 down, throttling, a reset path):
            // a retry may pass. A missing object is not that.
            ref unavailable if unavailable.is_unavailable() => CoreError::Unavailable(Box::new(e)),
            // A missing blob is the server's fault, never the client's.
            other => CoreError::internal(other),
        }
    }
}

impl From<caravan_domain::NameError> for CoreError {
    fn from(e: caravan_domain::NameError) -> Self {
        CoreError::Invalid(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_show_nothing_of_their_cause_and_log_all_of_it() {
        let io = std::io::Error::other("/var/lib/caravan/objects/ab/cd: permission denied");
        let e = CoreError::internal(io);
        assert_eq!(e.public_message(), INTERNAL_MESSAGE);
        assert_eq!(e.class().status, 500);
        let CoreError::Internal(cause) = &e else {
            unreachable!()
        };
        assert!(chain(cause.as_ref()).contains("permission denied"));
    }

    #[test]
    fn every_kind_has_its_status_and_a_stable_code() {
        let cases = [
            (
                CoreError::Unauthenticated("x".into()),
                401,
                "unauthenticated",
            ),
            (CoreError::Forbidden("x".into()), 403, "forbidden"),
            (CoreError::not_found(Subject::Model, "x"), 404, "not_found"),
            (
                CoreError::conflict(ConflictKind::InUse, "x"),
                409,
                "conflict",
            ),
            (CoreError::Invalid("x".into()), 400, "invalid_request"),
            (CoreError::TooLarge("x".into()), 413, "payload_too_large"),
            (CoreError::Refused("x".into()), 422, "model_refused"),
            (CoreError::LimitExceeded("x".into()), 422, "limit_exceeded"),
            (
                CoreError::RangeNotSatisfiable("x".into()),
                416,
                "range_not_satisfiable",
            ),
            (CoreError::Busy("x".into()), 503, "busy"),
            (
                CoreError::Unavailable(std::io::Error::other("x").into()),
                503,
                "unavailable",
            ),
            (
                CoreError::RateLimited { retry_after: 7 },
                429,
                "rate_limited",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!((error.class().status, error.class().code), (status, code));
            assert_eq!(error.public_message(), error.to_string());
        }
        assert_eq!(CoreError::Busy("x".into()).class().retry_after, Some(1));
        assert_eq!(
            CoreError::RateLimited { retry_after: 7 }
                .class()
                .retry_after,
            Some(7)
        );
    }
}
