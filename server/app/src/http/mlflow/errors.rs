//! Errors in MLflow's shape, `{"error_code", "message"}`, with the codes its client branches on.
//! Client errors are never 5xx: the MLflow client retries those for minutes.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use caravan_core::{ConflictKind, CoreError};
use serde_json::json;

#[derive(Debug)]
pub struct MlflowError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl MlflowError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }
}

impl From<CoreError> for MlflowError {
    fn from(e: CoreError) -> Self {
        e.log();
        let class = e.class();
        let (status, code) = match &e {
            CoreError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
            CoreError::Forbidden(_) => (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
            CoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
            CoreError::Conflict {
                kind: ConflictKind::AlreadyExists,
                ..
            } => (StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS"),
            CoreError::Conflict { .. } => (StatusCode::BAD_REQUEST, "INVALID_STATE"),
            CoreError::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "REQUEST_LIMIT_EXCEEDED")
            }
            CoreError::Busy(_) | CoreError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE")
            }
            CoreError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
            _ if class.status < 500 => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        };
        let message = match &e {
            CoreError::Internal(_) => caravan_core::INTERNAL_MESSAGE.to_owned(),
            _ => e.public_message(),
        };
        Self::new(status, code, message)
    }
}

impl From<caravan_domain::NameError> for MlflowError {
    fn from(e: caravan_domain::NameError) -> Self {
        Self::invalid(e.to_string())
    }
}

impl std::fmt::Display for MlflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl ResponseError for MlflowError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({"error_code": self.code, "message": self.message}))
    }
}
