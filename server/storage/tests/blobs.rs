//! The blob store on every backend: memory, local disk and a real S3 server (SeaweedFS,
//! started by scripts/services.sh; its absence fails these tests rather than skipping them).

use bytes::Bytes;
use caravan_storage::{BlobStore, S3Options, StageError, StorageError};
use futures::{StreamExt, TryStreamExt, stream};
use sha2::{Digest, Sha256};

struct Fixture {
    store: BlobStore,
    staging: tempfile::TempDir,
    _data: tempfile::TempDir,
}

fn memory() -> Fixture {
    let staging = tempfile::tempdir().unwrap();
    let store = BlobStore::open("memory://", &S3Options::default(), staging.path()).unwrap();
    Fixture {
        store,
        staging,
        _data: tempfile::tempdir().unwrap(),
    }
}

fn local() -> Fixture {
    let staging = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let url = format!("file://{}", data.path().display());
    let store = BlobStore::open(&url, &S3Options::default(), staging.path()).unwrap();
    Fixture {
        store,
        staging,
        _data: data,
    }
}

fn s3() -> Fixture {
    let env = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.into());
    let options = S3Options {
        endpoint: Some(env("CARAVAN_TEST_S3_ENDPOINT", "http://127.0.0.1:8333")),
        region: "us-east-1".into(),
        access_key_id: Some(env("CARAVAN_TEST_S3_KEY", "caravan")),
        secret_access_key: Some(env("CARAVAN_TEST_S3_SECRET", "caravan-test-secret")),
        allow_http: true,
    };
    let bucket = env("CARAVAN_TEST_S3_BUCKET", "caravan-test");
    let url = format!("s3://{bucket}/test-{}", uuid::Uuid::new_v4().simple());
    let staging = tempfile::tempdir().unwrap();
    let store = BlobStore::open(&url, &options, staging.path()).unwrap();
    Fixture {
        store,
        staging,
        _data: tempfile::tempdir().unwrap(),
    }
}

/// `n` bytes of a repeating pattern, delivered in uneven chunks like a network body.
fn body(
    n: usize,
) -> (
    Vec<u8>,
    impl futures::Stream<Item = Result<Bytes, String>> + Unpin,
) {
    let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
    let chunks: Vec<Result<Bytes, String>> = data
        .chunks(65_537)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    (data, stream::iter(chunks))
}

/// No file in staging but this process's lock on its own (empty) directory there.
fn staging_is_empty(f: &Fixture) -> bool {
    fn files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| match e.file_type().unwrap().is_dir() {
                true => files(&e.path()),
                false => usize::from(e.path().extension().is_none_or(|x| x != "lock")),
            })
            .sum()
    }
    files(f.staging.path()) == 0
}

async fn round_trip(f: Fixture, size: usize) {
    let (data, stream) = body(size);
    let staged = f.store.stage(stream, u64::MAX).await.unwrap();
    let sha = hex::encode(Sha256::digest(&data));
    assert_eq!(staged.sha256(), sha);
    assert_eq!(staged.size(), size as u64);
    assert!(!f.store.exists(&sha).await.unwrap());
    f.store.put_staged(&staged).await.unwrap();
    drop(staged);
    assert!(
        staging_is_empty(&f),
        "the staging file is removed once dropped"
    );
    assert!(f.store.exists(&sha).await.unwrap());

    let read = f.store.read(&sha, None).await.unwrap();
    assert_eq!(
        (read.size, read.range.clone()),
        (size as u64, 0..size as u64)
    );
    let bytes: Vec<Bytes> = read.stream.try_collect().await.unwrap();
    assert_eq!(bytes.concat(), data);

    let part = f.store.read(&sha, Some(10..1000)).await.unwrap();
    let bytes: Vec<Bytes> = part.stream.try_collect().await.unwrap();
    assert_eq!(bytes.concat(), &data[10..1000]);
    let tail = f
        .store
        .read(&sha, Some(size as u64 - 5..u64::MAX))
        .await
        .unwrap();
    assert_eq!(tail.range, size as u64 - 5..size as u64);
    assert!(matches!(
        f.store.read(&sha, Some(size as u64..size as u64 + 1)).await,
        Err(StorageError::BadRange)
    ));

    let listed: Vec<String> = f.store.list().try_collect().await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&sha));
    f.store.ping().await.unwrap();
    f.store.delete(&sha).await.unwrap();
    f.store.delete(&sha).await.unwrap();
    assert!(!f.store.exists(&sha).await.unwrap());
    assert!(matches!(
        f.store.read(&sha, None).await,
        Err(StorageError::NotFound(_))
    ));
}

async fn refuses_an_upload_past_the_limit(f: Fixture) {
    let (_, stream) = body(300_000);
    let refused = f.store.stage(stream, 200_000).await;
    assert!(matches!(
        refused,
        Err(StageError::TooLarge { limit: 200_000 })
    ));
    assert!(staging_is_empty(&f));
    let listed: Vec<String> = f.store.list().try_collect().await.unwrap();
    assert!(listed.is_empty());
}

async fn a_failing_body_leaves_nothing(f: Fixture) {
    let chunks = vec![
        Ok(Bytes::from_static(b"abc")),
        Err("client went away".to_string()),
    ];
    let refused = f.store.stage(stream::iter(chunks).boxed(), u64::MAX).await;
    assert!(matches!(refused, Err(StageError::Body(m)) if m.contains("went away")));
    assert!(staging_is_empty(&f));
}

#[tokio::test]
async fn memory_store_round_trips_small_blobs() {
    round_trip(memory(), 100_000).await;
}

#[tokio::test]
async fn local_store_round_trips_small_and_multipart_blobs() {
    round_trip(local(), 100_000).await;
    round_trip(local(), 40 << 20).await;
}

#[tokio::test]
async fn s3_store_round_trips_small_and_multipart_blobs() {
    round_trip(s3(), 100_000).await;
    round_trip(s3(), 40 << 20).await;
}

#[tokio::test]
async fn every_store_refuses_uploads_past_the_limit() {
    refuses_an_upload_past_the_limit(memory()).await;
    refuses_an_upload_past_the_limit(local()).await;
    refuses_an_upload_past_the_limit(s3()).await;
}

#[tokio::test]
async fn a_failing_upload_body_leaves_no_staging_file() {
    a_failing_body_leaves_nothing(local()).await;
}

#[tokio::test]
async fn s3_with_a_wrong_secret_is_refused() {
    let staging = tempfile::tempdir().unwrap();
    let options = S3Options {
        endpoint: Some("http://127.0.0.1:8333".into()),
        region: "us-east-1".into(),
        access_key_id: Some("caravan".into()),
        secret_access_key: Some("wrong".into()),
        allow_http: true,
    };
    let store = BlobStore::open("s3://caravan-test/x", &options, staging.path()).unwrap();
    let err = store.ping().await.unwrap_err().to_string();
    // Refused by the server (not unreachable): SeaweedFS enforces SigV4 when keys are set.
    assert!(err.contains("403") || err.contains("Forbidden"), "{err}");
}

#[test]
fn unknown_url_schemes_are_refused() {
    let staging = tempfile::tempdir().unwrap();
    let refused = BlobStore::open("ftp://host/x", &S3Options::default(), staging.path());
    assert!(matches!(refused, Err(StorageError::Config(_))));
}
