//! Multipart uploads, read the same way by every surface that takes files: each expected part
//! once; file parts staged by the use cases while they arrive (hashed, cut off at their limit);
//! small parts read into memory up to their own limit; any other part refused by name, before
//! the rest of the body is read.

use actix_multipart::{Field, Multipart};
use bytes::Bytes;
use caravan_core::{Staged, Stager, UploadLimit};
use futures::{StreamExt, TryStreamExt};
use std::time::Duration;

use crate::http::error::ApiError;

/// What a part holds.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// A file, staged under this limit.
    File(UploadLimit),
    /// A small value (JSON, text) of at most this many bytes.
    Small(usize),
}

/// The parts that arrived, by name.
#[derive(Default)]
pub struct Received {
    files: Vec<(&'static str, Staged)>,
    small: Vec<(&'static str, Vec<u8>)>,
}

impl Received {
    /// The staged file part `name`, if it was sent.
    pub fn file(&mut self, name: &str) -> Option<Staged> {
        let at = self.files.iter().position(|(n, _)| *n == name)?;
        Some(self.files.swap_remove(at).1)
    }

    /// The small part `name`, if it was sent.
    pub fn small(&mut self, name: &str) -> Option<Vec<u8>> {
        let at = self.small.iter().position(|(n, _)| *n == name)?;
        Some(self.small.swap_remove(at).1)
    }

    fn has(&self, name: &str) -> bool {
        self.files.iter().any(|(n, _)| *n == name) || self.small.iter().any(|(n, _)| *n == name)
    }
}

/// Reads the multipart body: `expected` names each part and what it holds; `hint` says what
/// to send, in the refusal of an unexpected part ("'model' and optionally 'metadata'").
///
/// The multipart parser can wait forever on some malformed bodies once the body has ended (a
/// fuzzed 270-byte body did): every wait for a part or a chunk has the body-idle deadline
/// (`http.body_idle_timeout_secs`, 30 s when that is off), after which the body is malformed.
pub async fn receive(
    stager: &Stager,
    mut parts: Multipart,
    expected: &[(&'static str, Part)],
    hint: &str,
    stall: Option<Duration>,
) -> Result<Received, ApiError> {
    let stall = stall.unwrap_or(DEFAULT_STALL);
    let mut received = Received::default();
    loop {
        let next = tokio::time::timeout(stall, parts.try_next())
            .await
            .map_err(|_| stalled())?
            .map_err(malformed)?;
        let Some(field) = next else {
            break;
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Some(&(name, part)) = expected.iter().find(|(n, _)| *n == name) else {
            return Err(ApiError::bad_request(format!(
                "unexpected multipart part {name:?}; send {hint}"
            )));
        };
        if received.has(name) {
            return Err(ApiError::bad_request(format!(
                "part {name:?} was sent twice"
            )));
        }
        let field = with_stall_deadline(field, stall);
        match part {
            Part::File(limit) => received
                .files
                .push((name, stager.stage(field, limit).await?)),
            Part::Small(max) => received
                .small
                .push((name, read_small(field, name, max).await?)),
        }
    }
    Ok(received)
}

const DEFAULT_STALL: Duration = Duration::from_secs(30);

type Chunks = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, String>>>>;

/// A part's chunks, failing once none arrives for `stall`, and ended after an error.
fn with_stall_deadline(field: Field, stall: Duration) -> Chunks {
    Box::pin(futures::stream::unfold(
        Some(field),
        move |state| async move {
            let mut field = state?;
            match tokio::time::timeout(stall, field.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(field))),
                Ok(Some(Err(e))) => Some((Err(format!("malformed multipart body: {e}")), None)),
                Ok(None) => None,
                Err(_) => Some((Err(stalled().to_string()), None)),
            }
        },
    ))
}

fn stalled() -> ApiError {
    ApiError::bad_request("malformed multipart body: it stopped in the middle of a part")
}

async fn read_small(mut field: Chunks, name: &str, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        bytes.extend_from_slice(&chunk.map_err(ApiError::bad_request)?);
        if bytes.len() > max {
            return Err(ApiError::bad_request(format!(
                "part {name:?} is larger than {max} bytes"
            )));
        }
    }
    Ok(bytes)
}

fn malformed(e: actix_multipart::MultipartError) -> ApiError {
    ApiError::bad_request(format!("malformed multipart body: {e}"))
}
