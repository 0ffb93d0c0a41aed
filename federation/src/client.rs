//! Calling a peer: the E5 endpoints over mutual TLS, with bounded JSON bodies (a hostile peer
//! cannot exhaust memory), timeouts from the HTTP client, and artifact downloads streamed to a
//! staging file while hashed.

use caravan_core::{Core, CoreError, Staged, UploadLimit};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::wire::{Catalog, Changes, Envelope, PeerInfo, Revision, Solution};

/// Why a call to a peer failed. `Refused` means the peer sent something unacceptable;
/// the rest are failures worth retrying later.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("calling the peer failed: {0}")]
    Transport(String),
    #[error("the peer answered {0}: {1}")]
    Status(u16, String),
    #[error("the peer sent an unacceptable answer: {0}")]
    Refused(String),
}

/// A transport failure, saying plainly when it was a timeout (reqwest buries that in the
/// error's sources).
fn transport(path: &str, e: &reqwest::Error) -> ClientError {
    let mut message = format!("{path}: {e}");
    if e.is_timeout() {
        message.push_str(" (timed out)");
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    ClientError::Transport(message)
}

pub struct PeerClient {
    http: reqwest::Client,
    base: String,
    max_json: usize,
}

impl PeerClient {
    pub fn new(http: reqwest::Client, base: &str, max_json: usize) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            max_json,
        }
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| transport(path, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(ClientError::Status(
            status.as_u16(),
            body.chars().take(300).collect(),
        ))
    }

    /// A JSON answer in the E5 envelope, refused past `max_json` bytes or when malformed.
    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response = self.get(path).await?;
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.map_err(|e| transport(path, &e))?);
            if body.len() > self.max_json {
                return Err(ClientError::Refused(format!(
                    "{path}: more than {} bytes of JSON",
                    self.max_json
                )));
            }
        }
        let envelope: Envelope<T> = serde_json::from_slice(&body)
            .map_err(|e| ClientError::Refused(format!("{path}: malformed JSON: {e}")))?;
        if let Some(error) = envelope.error {
            return Err(ClientError::Refused(format!("{path}: {error}")));
        }
        envelope
            .content
            .ok_or_else(|| ClientError::Refused(format!("{path}: no content")))
    }

    pub async fn ping(&self) -> Result<PeerInfo, ClientError> {
        self.get_json("/ping").await
    }

    pub async fn catalogs(&self) -> Result<Vec<Catalog>, ClientError> {
        self.get_json("/catalogs").await
    }

    /// What changed in a catalog after `since` (Caravan's change feed).
    pub async fn changes(&self, catalog: &str, since: i64) -> Result<Changes, ClientError> {
        self.get_json(&format!("/solutions?catalogId={catalog}&since={since}"))
            .await
    }

    /// The plain E5 listing, as Acumos gateways answer it.
    pub async fn solutions(&self, catalog: &str) -> Result<Vec<Solution>, ClientError> {
        self.get_json(&format!("/solutions?catalogId={catalog}"))
            .await
    }

    pub async fn solution(&self, id: Uuid) -> Result<Solution, ClientError> {
        self.get_json(&format!("/solutions/{id}")).await
    }

    pub async fn revision(&self, solution: Uuid, revision: Uuid) -> Result<Revision, ClientError> {
        self.get_json(&format!("/solutions/{solution}/revisions/{revision}"))
            .await
    }

    /// Streams an artifact into a staging file, hashing it; at most `max_bytes`.
    /// Stages an artifact's bytes (hashed on the way) through the use cases' staging.
    pub async fn download(
        &self,
        artifact: Uuid,
        core: &Core,
        max_bytes: u64,
    ) -> Result<Staged, ClientError> {
        let path = format!("/artifacts/{artifact}/content");
        let response = self.get(&path).await?;
        let limit = UploadLimit {
            max_bytes,
            what: "the artifact",
            setting: "the size its manifest announced",
        };
        core.stage(response.bytes_stream(), limit)
            .await
            .map_err(|e| match e {
                CoreError::TooLarge(m) => ClientError::Refused(format!("{path}: {m}")),
                CoreError::Invalid(m) => ClientError::Transport(format!("{path}: {m}")),
                other => ClientError::Transport(format!(
                    "{path}: staging: {}",
                    other.cause().unwrap_or_else(|| other.to_string())
                )),
            })
    }
}
