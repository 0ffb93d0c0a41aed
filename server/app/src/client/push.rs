//! `caravan push FILE --model NAME`: a resumable upload. The file is hashed, an upload is
//! opened (or the one an interrupted push left is found again, by the file's SHA-256, the
//! model and the server), the parts the server lacks are sent a few at a time straight from
//! the file (memory stays flat whatever its size), then the upload is completed and the alias
//! set. Run again after any failure, it sends only what is missing.

use std::{
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reqwest::{Method, StatusCode, header::CONTENT_LENGTH};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    Api, ClientError, Result, api_for, credentials::cache_dir, io_error, progress::Progress,
};

#[derive(clap::Args)]
pub struct PushArgs {
    /// The .onnx file.
    pub file: PathBuf,
    /// The model it becomes a version of (created on its first version).
    #[arg(long)]
    pub model: String,
    /// Point this alias at the new version (needs the `deploy` scope).
    #[arg(long)]
    pub alias: Option<String>,
    /// Model metadata as JSON: description, card, tags, license, visibility.
    #[arg(long)]
    pub metadata: Option<String>,
    /// The server (default: the last `caravan login`).
    #[arg(long, env = "CARAVAN_URL")]
    pub url: Option<String>,
    /// Bytes per part (default: the server's, 16 MiB).
    #[arg(long)]
    pub part_size: Option<u64>,
    /// Parts in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=16))]
    pub parallel: u64,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Reads and sends files in pieces of this size.
const CHUNK: u64 = 1 << 20;

pub async fn push(args: PushArgs) -> Result<()> {
    let api = api_for(args.url.clone())?;
    let metadata = parse_metadata(args.metadata.as_deref())?;
    let file = std::fs::File::open(&args.file)
        .map_err(|e| ClientError::Usage(format!("cannot open {}: {e}", args.file.display())))?;
    let size = file.metadata().map_err(io_error("reading the file"))?.len();
    if size == 0 {
        return Err(ClientError::Usage(format!(
            "{} is empty",
            args.file.display()
        )));
    }
    let file = Arc::new(file);
    let started = Instant::now();
    let sha256 = hash_range(&file, 0, size).await?;
    let state = cache_dir()?
        .join("uploads")
        .join(state_name(&api, &args.model, &sha256));
    let upload = match resumable(&api, &state, size, &sha256).await? {
        Some(upload) => upload,
        None => open_upload(&api, &args, size, &sha256, &state).await?,
    };
    let id = upload["id"].as_str().unwrap_or_default().to_owned();
    let parts = upload["parts"].as_u64().unwrap_or(0);
    let part_size = upload["part_size"].as_u64().unwrap_or(0).max(1);
    let received: std::collections::BTreeSet<u64> = upload["received"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["n"].as_u64())
        .collect();
    let missing: Vec<u64> = (1..=parts).filter(|n| !received.contains(n)).collect();
    let resumed_bytes = size
        - missing
            .iter()
            .map(|&n| part_len(n, part_size, size))
            .sum::<u64>();
    let progress = Progress::new(&format!("push {}", args.model), size, resumed_bytes);
    if !received.is_empty() {
        progress.line(&format!(
            "resuming: {} of {parts} parts already on the server",
            received.len()
        ));
    }
    let sent = AtomicU64::new(0);
    let sender = PartSender {
        api: &api,
        file: &file,
        id: &id,
        part_size,
        size,
        parts,
        progress: &progress,
        sent: &sent,
    };
    futures::stream::iter(missing.iter().copied())
        .map(|n| sender.send(n))
        .buffer_unordered(args.parallel as usize)
        .try_collect::<Vec<()>>()
        .await?;
    let version = complete(&api, &id, &metadata).await?;
    progress.finish();
    // The upload is finished: a rerun must start afresh.
    let _ = std::fs::remove_file(&state);
    let number = version["version"].as_i64().unwrap_or_default();
    if let Some(alias) = &args.alias {
        let path = format!("/api/v1/models/{}/aliases/{alias}", args.model);
        api.send("setting the alias", || {
            api.request(Method::PUT, &path)
                .json(&json!({"version": number}))
        })
        .await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = json!({
        "model": args.model, "version": number, "sha256": sha256, "size": size,
        "created": version["created"], "alias": args.alias, "upload": id, "parts": parts,
        "parts_sent": missing.len(), "parts_resumed": received.len(),
        "bytes_sent": sent.load(Ordering::Relaxed), "seconds": seconds,
    });
    if args.json {
        println!("{report}");
    } else {
        let alias = args
            .alias
            .as_ref()
            .map(|a| format!(", alias {a}"))
            .unwrap_or_default();
        eprintln!(
            "pushed {} version {number}{alias} ({size} bytes, sha256 {sha256}, {:.1} MB/s)",
            args.model,
            size as f64 / 1e6 / seconds.max(1e-3)
        );
    }
    Ok(())
}

fn parse_metadata(raw: Option<&str>) -> Result<Value> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(ClientError::Usage(
            "--metadata must be a JSON object".into(),
        )),
    }
}

/// The file that remembers an unfinished upload of these bytes to this model on this server.
fn state_name(api: &Api, model: &str, sha256: &str) -> String {
    let key = Sha256::digest(format!("{}\n{model}\n{sha256}", api.base));
    format!("{}.json", hex::encode(&key[..16]))
}

/// The unfinished upload an earlier push left, if the server still has it open.
async fn resumable(api: &Api, state: &Path, size: u64, sha256: &str) -> Result<Option<Value>> {
    let Ok(saved) = std::fs::read(state) else {
        return Ok(None);
    };
    let Some(id) = serde_json::from_slice::<Value>(&saved)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
    else {
        return Ok(None);
    };
    let response = api
        .request(Method::GET, &format!("/api/v1/uploads/{id}"))
        .send()
        .await;
    let upload: Value = match response {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or(Value::Null),
        Ok(r) if matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            return Err(super::refusal("resuming the upload", r).await);
        }
        _ => return Ok(None),
    };
    // A done upload completes again into its version; one being deleted is gone.
    let same = upload["size"].as_u64() == Some(size) && upload["sha256"].as_str() == Some(sha256);
    Ok((same && upload["state"] != "deleting").then_some(upload))
}

async fn open_upload(
    api: &Api,
    args: &PushArgs,
    size: u64,
    sha256: &str,
    state: &Path,
) -> Result<Value> {
    let body =
        json!({"model": args.model, "size": size, "sha256": sha256, "part_size": args.part_size});
    let upload = api
        .json("opening the upload", || {
            api.request(Method::POST, "/api/v1/uploads").json(&body)
        })
        .await?;
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir).map_err(io_error("creating the cache directory"))?;
    }
    std::fs::write(state, json!({"id": upload["id"]}).to_string())
        .map_err(io_error("remembering the upload"))?;
    Ok(upload)
}

/// Completes the upload; while another completion runs (an earlier push that was cut off
/// mid-completion), waits for it and completes again, which answers the same version.
async fn complete(api: &Api, id: &str, metadata: &Value) -> Result<Value> {
    let path = format!("/api/v1/uploads/{id}/complete");
    let body = json!({"metadata": metadata});
    let mut failures = 0;
    loop {
        let sent = api
            .request(Method::POST, &path)
            .json(&body)
            .timeout(Duration::from_secs(3600))
            .send()
            .await;
        let retry = match sent {
            Ok(r) if r.status() == StatusCode::CONFLICT => false,
            Ok(r) if r.status().is_success() => {
                let created = r.status() == StatusCode::CREATED;
                let mut version: Value = r.json().await.map_err(|e| {
                    ClientError::Unavailable(format!(
                        "completing the upload: the answer was cut short: {e}"
                    ))
                })?;
                version["created"] = created.into();
                return Ok(version);
            }
            Ok(r) if super::retryable(r.status()) && failures + 1 < super::ATTEMPTS => true,
            Ok(r) => return Err(super::refusal("completing the upload", r).await),
            Err(_) if failures + 1 < super::ATTEMPTS => true,
            Err(e) => {
                return Err(ClientError::Unavailable(format!(
                    "completing the upload: {}; run again to resume",
                    super::root_cause(&e)
                )));
            }
        };
        // A completion the server is still running (this one, cut off, or an earlier push's)
        // answers the version once it is done.
        failures += u32::from(retry);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn part_len(n: u64, part_size: u64, size: u64) -> u64 {
    let start = (n - 1) * part_size;
    part_size.min(size - start)
}

struct PartSender<'a> {
    api: &'a Api,
    file: &'a Arc<std::fs::File>,
    id: &'a str,
    part_size: u64,
    size: u64,
    parts: u64,
    progress: &'a Progress,
    sent: &'a AtomicU64,
}

impl PartSender<'_> {
    async fn send(&self, n: u64) -> Result<()> {
        let offset = (n - 1) * self.part_size;
        let len = part_len(n, self.part_size, self.size);
        let sha256 = hash_range(self.file, offset, len).await?;
        let path = format!("/api/v1/uploads/{}/parts/{n}?sha256={sha256}", self.id);
        let file = self.file.clone();
        self.api
            .send(&format!("sending part {n}"), || {
                self.api
                    .request(Method::PUT, &path)
                    .header(CONTENT_LENGTH, len)
                    .body(reqwest::Body::wrap_stream(read_range(
                        file.clone(),
                        offset,
                        len,
                    )))
            })
            .await?;
        self.sent.fetch_add(len, Ordering::Relaxed);
        self.progress.add(len);
        self.progress
            .detail(&format!("part {n} of {} sent", self.parts));
        Ok(())
    }
}

/// The bytes `offset..offset + len` of the file, a chunk at a time.
fn read_range(
    file: Arc<std::fs::File>,
    offset: u64,
    len: u64,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::try_unfold(0u64, move |pos| {
        let file = file.clone();
        async move {
            if pos >= len {
                return Ok(None);
            }
            let n = CHUNK.min(len - pos);
            let chunk = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; n as usize];
                file.read_exact_at(&mut buf, offset + pos).map(|()| buf)
            })
            .await
            .map_err(std::io::Error::other)??;
            Ok(Some((Bytes::from(chunk), pos + n)))
        }
    })
}

/// The SHA-256 of a range of the file, as hex.
async fn hash_range(file: &Arc<std::fs::File>, offset: u64, len: u64) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut chunks = std::pin::pin!(read_range(file.clone(), offset, len));
    while let Some(chunk) = chunks.next().await {
        hasher.update(chunk.map_err(io_error("reading the file"))?);
    }
    Ok(hex::encode(hasher.finalize()))
}
