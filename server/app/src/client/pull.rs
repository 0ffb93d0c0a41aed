//! `caravan pull NAME[@alias|:version] [-o FILE]`: downloads a version's artifact, resuming an
//! interrupted download (the partial file is named by the SHA-256 it must end with, so bytes
//! of another version are never mixed in), and verifies the SHA-256 before the file takes its
//! name.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use reqwest::{Method, StatusCode, header::RANGE};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{ClientError, Result, api_for, io_error, progress::Progress};

#[derive(clap::Args)]
pub struct PullArgs {
    /// NAME (the latest version), NAME@ALIAS or NAME:VERSION.
    pub reference: String,
    /// Where to write the file (default: NAME-VERSION.onnx here).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The server (default: the last `caravan login`).
    #[arg(long, env = "CARAVAN_URL")]
    pub url: Option<String>,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// `name@alias`, `name:3` (an imported `peer:name` keeps its colon), or `name` (latest).
fn parse_reference(raw: &str) -> (&str, &str) {
    if let Some((name, alias)) = raw.split_once('@') {
        return (name, alias);
    }
    match raw.rsplit_once(':') {
        Some((name, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => (name, v),
        _ => (raw, "latest"),
    }
}

pub async fn pull(args: PullArgs) -> Result<()> {
    let api = api_for(args.url.clone())?;
    let (name, reference) = parse_reference(&args.reference);
    let version = api
        .json("finding the version", || {
            api.request(
                Method::GET,
                &format!("/api/v1/models/{name}/versions/{reference}"),
            )
        })
        .await?;
    let number = version["version"].as_i64().unwrap_or_default();
    let sha256 = version["sha256"].as_str().unwrap_or_default().to_owned();
    let size = version["size"].as_u64().unwrap_or_default();
    let extension = if version["artifact_kind"] == "acumos_bundle" {
        "zip"
    } else {
        "onnx"
    };
    let output = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(format!("{}-{number}.{extension}", name.replace(':', "_")))
    });
    let partial = partial_path(&output, &sha256);
    let mut have = match tokio::fs::metadata(&partial).await {
        Ok(m) if m.len() <= size => m.len(),
        _ => 0,
    };
    let resumed_from = have;
    let mut hasher = Sha256::new();
    if have > 0 {
        hash_file(&partial, &mut hasher).await?;
    }
    let progress = Progress::new(&format!("pull {name}"), size, have);
    let mut received = 0u64;
    if have < size {
        let path = format!("/api/v1/models/{name}/versions/{number}/artifact");
        let response = api
            .send("downloading", || {
                let request = api.request(Method::GET, &path);
                if have > 0 {
                    request.header(RANGE, format!("bytes={have}-"))
                } else {
                    request
                }
            })
            .await?;
        let partial_answer = response.status() == StatusCode::PARTIAL_CONTENT;
        if partial_answer && content_range_start(&response) != Some(have) {
            return Err(ClientError::Failed(
                "the server answered another range than the one asked for; run again".into(),
            ));
        }
        if !partial_answer {
            // The whole file is coming: start over.
            hasher = Sha256::new();
            have = 0;
        }
        // From scratch the file is emptied first (a longer leftover, another pull's bytes).
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(have == 0)
            .open(&partial)
            .await
            .map_err(io_error("writing the download"))?;
        {
            use tokio::io::AsyncSeekExt;
            file.seek(std::io::SeekFrom::Start(have))
                .await
                .map_err(io_error("writing the download"))?;
        }
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                ClientError::Unavailable(format!(
                    "the download was cut off after {} bytes ({e}); run again to resume",
                    have + received
                ))
            })?;
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(io_error("writing the download"))?;
            received += chunk.len() as u64;
            progress.add(chunk.len() as u64);
        }
        file.flush()
            .await
            .map_err(io_error("writing the download"))?;
    }
    progress.finish();
    let got = hex::encode(hasher.finalize());
    let length = tokio::fs::metadata(&partial).await.map_or(0, |m| m.len());
    if got != sha256 || length != size {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(ClientError::Failed(format!(
            "the download's SHA-256 is {got}, not the {sha256} the server publishes; the partial file was removed, run again"
        )));
    }
    tokio::fs::rename(&partial, &output)
        .await
        .map_err(io_error("moving the download into place"))?;
    let report = json!({
        "model": name, "version": number, "sha256": sha256, "size": size,
        "path": output, "resumed_from": resumed_from, "bytes_received": received,
    });
    if args.json {
        println!("{report}");
    } else {
        eprintln!(
            "pulled {name} version {number} to {} (sha256 {sha256} verified)",
            output.display()
        );
    }
    Ok(())
}

/// Where a 206 answer's range starts (`Content-Range: bytes START-END/SIZE`).
fn content_range_start(response: &reqwest::Response) -> Option<u64> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// `.<file name>.<sha256 prefix>.part` beside the output.
fn partial_path(output: &Path, sha256: &str) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.{}.part", &sha256[..sha256.len().min(16)]))
}

async fn hash_file(path: &Path, hasher: &mut Sha256) -> Result<()> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(io_error("reading the partial download"))?;
    let mut stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
    while let Some(chunk) = stream.next().await {
        hasher.update(chunk.map_err(io_error("reading the partial download"))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_an_alias_a_version_or_the_latest() {
        assert_eq!(parse_reference("fraud"), ("fraud", "latest"));
        assert_eq!(parse_reference("fraud@champion"), ("fraud", "champion"));
        assert_eq!(parse_reference("fraud:3"), ("fraud", "3"));
        assert_eq!(parse_reference("org-b:fraud"), ("org-b:fraud", "latest"));
        assert_eq!(parse_reference("org-b:fraud:2"), ("org-b:fraud", "2"));
        assert_eq!(parse_reference("org-b:fraud@prod"), ("org-b:fraud", "prod"));
    }
}
