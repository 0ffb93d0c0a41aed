//! Multipart uploads, read the same way by every surface that takes files: each expected part
//! once; file parts staged by the use cases while they arrive (hashed, cut off at their limit);
//! small parts read into memory up to their own limit; any other part refused by name, before
//! the rest of the body is read.

use actix_multipart::{Field, Multipart};
use caravan_core::{Core, Staged, UploadLimit};
use futures::{StreamExt, TryStreamExt};

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
pub async fn receive(
    core: &Core,
    mut parts: Multipart,
    expected: &[(&'static str, Part)],
    hint: &str,
) -> Result<Received, ApiError> {
    let mut received = Received::default();
    while let Some(field) = parts.try_next().await.map_err(malformed)? {
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
        match part {
            Part::File(limit) => received.files.push((name, core.stage(field, limit).await?)),
            Part::Small(max) => received
                .small
                .push((name, read_small(field, name, max).await?)),
        }
    }
    Ok(received)
}

async fn read_small(mut field: Field, name: &str, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        bytes.extend_from_slice(&chunk.map_err(malformed)?);
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
