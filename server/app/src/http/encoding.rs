//! `Content-Encoding` of request bodies, decoded here for every route: a gzip or deflate body
//! reaches handlers plain, whether they read it whole or stream it (a push, an artifact, a
//! part), and the header goes. A request without a body may still carry the header
//! (tritonclient sends its headers again on calls that have none): there it is dropped. Any
//! other encoding is refused by name rather than read as plain bytes.

use actix_web::{
    Error, HttpMessage,
    body::{BoxBody, MessageBody},
    dev::{Decompress, Payload, ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};

use super::error::ApiError;

/// The encodings decoded here (besides `identity`, which is none).
const DECODED: [&str; 2] = ["gzip", "deflate"];

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
    if !has_body(&req) || named == "identity" {
        req.headers_mut().remove(header::CONTENT_ENCODING);
    } else if DECODED.contains(&named.as_str()) {
        let decoded = Decompress::from_headers(req.take_payload(), req.headers());
        req.set_payload(Payload::Stream {
            payload: Box::pin(decoded),
        });
        req.headers_mut().remove(header::CONTENT_ENCODING);
    } else {
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
