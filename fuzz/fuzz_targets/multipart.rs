//! Multipart upload bodies, read the way the upload surfaces read them: fields by name,
//! small parts bounded. The first byte picks how the body is cut into chunks.
#![no_main]

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use futures::StreamExt;
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "caravanfuzzboundary";

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&format!("multipart/form-data; boundary={BOUNDARY}")).unwrap(),
    );
    let chunks: Vec<Result<bytes::Bytes, actix_web::error::PayloadError>> = body
        .chunks(chunk)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures::stream::iter(chunks);
    let mut multipart = actix_multipart::Multipart::new(&headers, stream);
    futures::executor::block_on(async {
        // As the upload surfaces read: each field's name, then its bytes up to a bound.
        while let Some(Ok(mut field)) = multipart.next().await {
            let _name = field.name().map(str::to_owned);
            let mut size = 0;
            while let Some(Ok(bytes)) = field.next().await {
                size += bytes.len();
                if size > 1 << 16 {
                    return;
                }
            }
        }
    });
});
