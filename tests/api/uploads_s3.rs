//! Resumable uploads on S3 with parts large enough for S3's own multipart upload: the parts go
//! straight into it (no object per part), S3 joins them on completion, and the version's blob
//! is a copy inside the bucket.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use caravan_storage::{BlobStore, MIN_STORE_PART, PartSpace};

use crate::support::{Backend, TestApp, onnx::add_model, s3_secret, spawn_app_with, use_s3};

const PART: usize = MIN_STORE_PART as usize;

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn put_part(app: &TestApp, id: &str, n: usize, bytes: &[u8]) -> StatusCode {
    app.client
        .put(app.url(&format!(
            "/api/v1/uploads/{id}/parts/{n}?sha256={}",
            sha(bytes)
        )))
        .bearer_auth(&app.admin_token)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

async fn begin(app: &TestApp, model: &str, bytes: &[u8]) -> (String, Uuid) {
    let body =
        json!({"model": model, "size": bytes.len(), "sha256": sha(bytes), "part_size": PART});
    let response = app
        .post_json(&app.admin_token, "/api/v1/uploads", body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let upload: Value = response.json().await.unwrap();
    let id = upload["id"].as_str().unwrap().to_owned();
    let uuid = Uuid::parse_str(&id).unwrap();
    (id, uuid)
}

async fn part_objects(blobs: &BlobStore, id: Uuid) -> usize {
    blobs
        .list_parts_in(PartSpace::Uploads, id)
        .await
        .unwrap()
        .len()
}

pub async fn large_parts_on_s3_are_joined_by_s3_and_never_stored_twice() {
    let app = spawn_app_with(Backend::Postgres, |s| use_s3(s, &s3_secret())).await;
    let blobs = app.app_core.blobs_for_tests();
    // About 10.8 MB: two 5 MiB parts and a smaller last one.
    let bytes = add_model(2_700_000);
    let (id, uuid) = begin(&app, "large", &bytes).await;
    let part = |n: usize| &bytes[(n - 1) * PART..(n * PART).min(bytes.len())];
    assert_eq!(put_part(&app, &id, 3, part(3)).await, StatusCode::OK);
    // Part 1 first with other bytes of its size, then again with the right ones: S3 keeps the
    // later, as the upload's record does.
    let wrong = vec![7u8; PART];
    assert_eq!(put_part(&app, &id, 1, &wrong).await, StatusCode::OK);
    assert_eq!(put_part(&app, &id, 1, part(1)).await, StatusCode::OK);
    assert_eq!(put_part(&app, &id, 2, part(2)).await, StatusCode::OK);
    assert_eq!(
        part_objects(blobs, uuid).await,
        0,
        "the parts are in S3's multipart upload, not objects of their own"
    );
    let done = app
        .client
        .post(app.url(&format!("/api/v1/uploads/{id}/complete")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    let version: Value = done.json().await.unwrap();
    assert_eq!(version["sha256"], sha(&bytes), "{version}");
    let artifact = app
        .get(
            Some(&app.admin_token),
            "/api/v1/models/large/versions/1/artifact",
        )
        .await;
    assert_eq!(artifact.status(), StatusCode::OK);
    assert_eq!(sha(&artifact.bytes().await.unwrap()), sha(&bytes));
    assert!(blobs.exists(&sha(&bytes)).await.unwrap());
    assert!(
        !blobs.is_assembled(uuid).await.unwrap(),
        "the assembled copy is deleted once it is a blob"
    );
    assert!(app.staged_files().is_empty());

    // An aborted upload goes with its multipart upload; its id is gone.
    let (id, uuid) = begin(&app, "large", &bytes).await;
    assert_eq!(put_part(&app, &id, 1, part(1)).await, StatusCode::OK);
    let aborted = app
        .client
        .delete(app.url(&format!("/api/v1/uploads/{id}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert!(aborted.status().is_success(), "{}", aborted.status());
    assert_eq!(put_part(&app, &id, 2, part(2)).await, StatusCode::NOT_FOUND);
    assert_eq!(part_objects(blobs, uuid).await, 0);
    assert!(!blobs.is_assembled(uuid).await.unwrap());
}
