//! Errors in the Acumos onboarding API's shape: `{"status": "ERROR", "errorCode",
//! "errorMessage"}`. Every client error is 400, 401 or 403 (Acumos clients know those); only
//! Caravan's own failures are 500, with a generic message.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde_json::json;

use crate::http::error::ApiError;

#[derive(Debug)]
pub struct AcumosError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AcumosError {
    pub fn new(status: StatusCode, code: &'static str, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
        }
    }

    pub fn invalid(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", message)
    }
}

impl From<ApiError> for AcumosError {
    fn from(e: ApiError) -> Self {
        let (status, code) = match e.status().as_u16() {
            401 => (StatusCode::UNAUTHORIZED, "INVALID_TOKEN"),
            403 => (StatusCode::FORBIDDEN, "UNAUTHORIZED"),
            500.. => (e.status(), "UNKNOWN"),
            // Not found, conflicts, refused models, oversize parts: the push's fault.
            _ => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER"),
        };
        Self::new(status, code, e.message())
    }
}

impl From<caravan_core::CoreError> for AcumosError {
    /// Through the API's one table of kinds (which logs an internal error's causes).
    fn from(e: caravan_core::CoreError) -> Self {
        AcumosError::from(ApiError::from(e))
    }
}

impl std::fmt::Display for AcumosError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl ResponseError for AcumosError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({
            "status": "ERROR",
            "errorCode": self.code,
            "errorMessage": self.message,
        }))
    }
}
