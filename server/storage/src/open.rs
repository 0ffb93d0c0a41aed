//! Opening a blob store from `storage.url`.

use std::{path::Path as FsPath, sync::Arc};

use object_store::{
    ObjectStore, aws::AmazonS3Builder, local::LocalFileSystem, memory::InMemory,
    prefix::PrefixStore,
};

use crate::{BlobStore, Result, ScratchDir, StorageError, Swept};

/// Settings for `s3://` stores. Without an endpoint, AWS is used; credentials fall back to
/// the usual `AWS_*` environment variables.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: bool,
}

impl BlobStore {
    /// Opens `memory://`, `file:///abs/dir`, a plain directory path, or `s3://bucket/prefix`.
    /// Staging files go to this process's own directory under `staging_dir`, which it claims
    /// after sweeping what dead processes left there.
    pub fn open(url: &str, s3: &S3Options, staging_dir: &FsPath) -> Result<Self> {
        let (scratch, swept) = ScratchDir::claim(staging_dir).map_err(|e| {
            StorageError::Config(format!(
                "cannot claim staging in {}: {e}",
                staging_dir.display()
            ))
        })?;
        if swept != Swept::default() {
            tracing::info!(
                files = swept.files,
                dirs = swept.dirs,
                "removed staging files that stopped processes left behind"
            );
        }
        let mut blobs = Self::open_store(url, s3, scratch.path().to_path_buf())?;
        blobs._scratch = Some(Arc::new(scratch));
        Ok(blobs)
    }

    fn open_store(url: &str, s3: &S3Options, staging: std::path::PathBuf) -> Result<Self> {
        if url == "memory://" || url == "memory" {
            return Ok(Self::new(
                Arc::new(InMemory::new()),
                staging,
                "memory".into(),
            ));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let s3_store = open_s3(bucket, s3)?;
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3_store.clone())
            } else {
                Arc::new(PrefixStore::new(s3_store.clone(), prefix))
            };
            let mut blobs = Self::new(store, staging, format!("s3://{bucket}/{prefix}"));
            blobs.multipart = Some(crate::assembly::S3Multipart::new(
                Arc::new(s3_store),
                prefix,
            ));
            return Ok(blobs);
        }
        let dir = match url.strip_prefix("file://") {
            Some(path) => std::path::PathBuf::from(path),
            None if url.contains("://") => {
                return Err(StorageError::Config(format!(
                    "storage.url must be a directory, file://, s3:// or memory://, not {url:?}"
                )));
            }
            None => std::path::PathBuf::from(url),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| StorageError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let dir = dir.canonicalize()?;
        let store = LocalFileSystem::new_with_prefix(&dir)?;
        let description = format!("file://{}", dir.display());
        let mut blobs = Self::new(Arc::new(store), staging, description);
        blobs.local_root = Some(dir);
        Ok(blobs)
    }
}

fn open_s3(bucket: &str, s3: &S3Options) -> Result<object_store::aws::AmazonS3> {
    if bucket.is_empty() {
        return Err(StorageError::Config("s3:// URL without a bucket".into()));
    }
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_allow_http(s3.allow_http);
    if !s3.region.is_empty() {
        builder = builder.with_region(&s3.region);
    }
    if let Some(endpoint) = &s3.endpoint {
        // S3-compatible servers (SeaweedFS, MinIO, Garage) want path-style requests.
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if let Some(key) = &s3.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    Ok(builder.build()?)
}
