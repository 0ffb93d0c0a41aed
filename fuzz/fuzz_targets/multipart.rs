//! Multipart upload bodies, read the way the upload surfaces read them: fields by name, each
//! wait for a part or a chunk under a stall deadline (actix-multipart can wait forever once
//! some malformed bodies have ended: the server answers 400 then, and so does this target),
//! small parts bounded. The first byte picks how the body is cut into chunks.
#![no_main]

use std::time::Duration;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use futures::StreamExt;
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "caravanfuzzboundary";
/// The whole body is in memory: anything not ready at once is the parser waiting forever.
const STALL: Duration = Duration::from_millis(20);

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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        while let Ok(Some(Ok(mut field))) = tokio::time::timeout(STALL, multipart.next()).await {
            let _name = field.name().map(str::to_owned);
            let mut size = 0;
            while let Ok(Some(Ok(bytes))) = tokio::time::timeout(STALL, field.next()).await {
                size += bytes.len();
                if size > 1 << 16 {
                    return;
                }
            }
        }
    });
});
