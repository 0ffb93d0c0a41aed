//! `Content-Encoding` of request bodies. The body extractors decode gzip and deflate; `identity` is plain.
//! A request without a body may still carry the header (tritonclient sends its headers again
//! on calls that have none): there it is dropped, since there is nothing to decode. Any other
//! encoding is refused by name rather than read as plain bytes.

use actix_web::{
    Error,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};

use super::error::ApiError;

/// The encodings a request body may have.
const DECODED: [&str; 3] = ["gzip", "deflate", "identity"];

pub async fn request_encoding(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(value) = req.headers().get(header::CONTENT_ENCODING) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let named = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !has_body(&req) {
        req.headers_mut().remove(header::CONTENT_ENCODING);
    } else if !DECODED.contains(&named.as_str()) {
        let shown: String = named.chars().take(40).collect();
        return Ok(req.error_response(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Encoding {shown:?} is not supported: send the body as gzip, deflate or identity"
            ),
        )));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Whether the request says a body follows: a non-zero length, or a chunked one.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != "0")
}
