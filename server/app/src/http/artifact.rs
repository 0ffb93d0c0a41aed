//! Artifact downloads, shared by the API and the federation listener (each renders errors its
//! own way): one byte range at most (a multi-range request gets the whole file, as RFC 9110
//! allows), a strong ETag that is the content's SHA-256, and `If-None-Match`.

use std::ops::Range;

use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, StatusCode, header},
};
use caravan_core::{Core, CoreError};
use caravan_domain::records::{ModelRecord, VersionRecord};

pub async fn respond(
    core: &Core,
    req: &HttpRequest,
    model: &ModelRecord,
    version: &VersionRecord,
) -> Result<HttpResponse, CoreError> {
    let etag = format!("\"{}\"", version.sha256);
    let size = version.size as u64;
    if if_none_match(req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let range = match req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        Some(spec) => parse_range(spec, size)?,
        None => None,
    };
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let (extension, media) = match version.info.format {
        caravan_domain::ArtifactFormat::Onnx => ("onnx", "application/octet-stream"),
        caravan_domain::ArtifactFormat::AcumosBundle => ("zip", "application/zip"),
    };
    let filename = format!(
        "{}-v{}.{extension}",
        model.name.as_str().replace(':', "_"),
        version.version
    );
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CONTENT_TYPE, media))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    if let Some(r) = &range {
        response.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", r.start, r.end - 1),
        ));
    }
    if req.method() == Method::HEAD {
        let len = range.as_ref().map_or(size, |r| r.end - r.start);
        // A sized, empty stream: actix sends the length and, for HEAD, no body.
        let empty = futures::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
        return Ok(response.no_chunking(len).streaming(empty));
    }
    let read = core.open_artifact(model, version, range).await?;
    let len = read.range.end - read.range.start;
    Ok(response.no_chunking(len).streaming(read.stream))
}

fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a file of `size` bytes into an
/// end-exclusive range. `None` means "send everything".
fn parse_range(spec: &str, size: u64) -> Result<Option<Range<u64>>, CoreError> {
    let unsatisfiable = || CoreError::RangeNotSatisfiable(format!("the file has {size} bytes"));
    let malformed = || CoreError::Invalid("malformed Range header".into());
    let Some(ranges) = spec.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if ranges.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = ranges.trim().split_once('-') else {
        return Err(malformed());
    };
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| malformed());
    let range = match (start.trim(), end.trim()) {
        ("", "") => return Err(malformed()),
        ("", suffix) => {
            let n = number(suffix)?;
            if n == 0 {
                return Err(unsatisfiable());
            }
            size.saturating_sub(n)..size
        }
        (start, "") => number(start)?..size,
        (start, end) => {
            let (start, end) = (number(start)?, number(end)?);
            if end < start {
                return Err(malformed());
            }
            start..end.saturating_add(1).min(size)
        }
    };
    if range.start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_parse_like_rfc_9110() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some(0..10));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some(90..100));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some(90..100));
        assert_eq!(parse_range("bytes=-500", 100).unwrap(), Some(0..100));
        assert_eq!(parse_range("bytes=95-200", 100).unwrap(), Some(95..100));
        assert_eq!(parse_range("bytes=0-1,5-6", 100).unwrap(), None);
        assert_eq!(parse_range("items=0-1", 100).unwrap(), None);
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-2", 100).is_err());
        assert!(parse_range("bytes=x-2", 100).is_err());
        assert!(parse_range("bytes=-0", 100).is_err());
    }
}
