//! The API's one error type: JSON `{"error": "...", "code": "..."}` with a stable code per
//! kind. 5xx bodies are generic; their cause is logged once, inside the request's span.

use actix_web::{
    Error, HttpResponse, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};
use caravan_core::CoreError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// A stable machine-readable code.
    pub code: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The status and the sentence a client may see (for surfaces with their own shape).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(ErrorBody {
            error: self.message.clone(),
            code: self.code.to_owned(),
        })
    }
}

impl From<CoreError> for ApiError {
    /// Renders from the one table of kinds (`CoreError::class`); an internal error's causes
    /// are logged here, in the request's span, and never sent.
    fn from(e: CoreError) -> Self {
        e.log();
        let class = e.class();
        ApiError {
            status: StatusCode::from_u16(class.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: class.code,
            message: e.public_message(),
            retry_after: class.retry_after,
        }
    }
}

impl From<caravan_domain::NameError> for ApiError {
    fn from(e: caravan_domain::NameError) -> Self {
        ApiError::bad_request(e.0)
    }
}

/// Replaces actix's plain-text extractor errors (which echo parser internals) with JSON.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(1 << 20)
        .error_handler(|e, _| ApiError::bad_request(format!("invalid JSON body: {e}")).into())
}

pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|e, _| ApiError::bad_request(format!("invalid query string: {e}")).into())
}

pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default()
        .error_handler(|e, _| ApiError::bad_request(format!("invalid path: {e}")).into())
}

/// JSON 404 for unknown routes.
pub async fn no_route() -> HttpResponse {
    ApiError::not_found("no such route").error_response()
}

/// Gives every error response a JSON body, including those actix writes itself (405 for a
/// known path with another method, payload errors), which would otherwise be plain text.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = next.call(req).await?;
    let status = response.status();
    // JSON errors, and the web UI's own HTML error pages, are already what clients expect.
    let already_formed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if status.as_u16() < 400 || already_formed {
        return Ok(response.map_into_boxed_body());
    }
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "invalid_request",
        _ => "internal",
    };
    // A body that could not be read says why (a gzip body that is not gzip, a cut-off one).
    let unreadable = response
        .response()
        .error()
        .and_then(|e| e.as_error::<actix_web::error::PayloadError>())
        .map(|e| match e {
            actix_web::error::PayloadError::EncodingCorrupted => {
                "the body does not decode as its Content-Encoding says".to_owned()
            }
            other => format!("the body could not be read: {other}"),
        });
    let message =
        unreadable.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let (request, original) = response.into_parts();
    let mut replaced = HttpResponse::build(status).json(ErrorBody {
        error: message,
        code: code.into(),
    });
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(request, replaced))
}
