use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{
    Backend, assert_error, fixture, s3_secret, spawn_app, spawn_app_with, use_s3,
};

pub async fn a_first_push_creates_the_model_and_answers_201_with_the_signature(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = fixture("affine.onnx");
    let metadata = r##"{"description": "Doubles and adds one", "tags": ["demo", "Regression"],
        "card": "# Affine", "visibility": "public", "license": "Apache-2.0"}"##;
    let response = app
        .push(&app.admin_token, "affine", bytes.clone(), Some(metadata))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        "/api/v1/models/affine/versions/1"
    );
    let version: Value = response.json().await.unwrap();
    assert_eq!(version["version"], 1);
    assert_eq!(version["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(version["size"], bytes.len());
    assert_eq!(
        version["signature"],
        json!({
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 4]}]
        })
    );
    assert_eq!(version["opsets"], json!([{"domain": "", "version": 17}]));
    assert_eq!(
        version["producer"],
        json!({"name": "caravan-fixtures", "version": "1"})
    );
    assert_eq!(
        version["metadata"],
        json!({"author": "caravan", "task": "regression"})
    );
    assert_eq!(version["created_by"], "admin");

    let (status, model) = app.get_json(None, "/api/v1/models/affine").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["description"], "Doubles and adds one");
    assert_eq!(model["tags"], json!(["demo", "regression"]));
    assert_eq!(model["card"], "# Affine");
    assert_eq!(model["license"], "Apache-2.0");
    assert_eq!(model["visibility"], "public");
    assert_eq!(model["owner"], "admin");
    assert_eq!(model["versions"][0]["version"], 1);
    assert_eq!(app.stored_blobs().len(), 1);
    assert!(app.staged_files().is_empty());
}

pub async fn identical_bytes_pushed_again_answer_200_with_the_same_version(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app
        .push_ok(&app.admin_token, "affine", "affine.onnx", None)
        .await;
    let again = app
        .push(&app.admin_token, "affine", fixture("affine.onnx"), None)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let (_, versions) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/affine/versions")
        .await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1);
    assert!(app.staged_files().is_empty());
}

pub async fn a_new_version_gets_the_next_number_and_updates_metadata(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "affine",
        "affine.onnx",
        Some(r#"{"description": "v1"}"#),
    )
    .await;
    let response = app
        .push(
            &app.admin_token,
            "affine",
            fixture("affine_v2.onnx"),
            Some(r#"{"description": "v2"}"#),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let version: Value = response.json().await.unwrap();
    assert_eq!(version["version"], 2);
    let (_, model) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/affine")
        .await;
    assert_eq!(model["description"], "v2");
    assert_eq!(model["latest_version"], 2);
    let numbers: Vec<_> = model["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].clone())
        .collect();
    assert_eq!(numbers, [json!(2), json!(1)]);
    assert_eq!(app.stored_blobs().len(), 2);
}

pub async fn concurrent_pushes_of_different_bytes_both_get_versions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, b) = tokio::join!(
        app.push(&app.admin_token, "busy", fixture("affine.onnx"), None),
        app.push(&app.admin_token, "busy", fixture("affine_v2.onnx"), None),
    );
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    let a: Value = a.json().await.unwrap();
    let b: Value = b.json().await.unwrap();
    let mut numbers = [
        a["version"].as_i64().unwrap(),
        b["version"].as_i64().unwrap(),
    ];
    numbers.sort();
    assert_eq!(numbers, [1, 2]);
}

pub async fn only_the_owner_can_push_versions_of_a_model(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.push_ok(
        &alice,
        "shared",
        "affine.onnx",
        Some(r#"{"visibility": "organization"}"#),
    )
    .await;
    let refused = app
        .push(&bob, "shared", fixture("affine_v2.onnx"), None)
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden", "owner").await;
    app.push_ok(&alice, "secret", "affine.onnx", None).await;
    let hidden = app
        .push(&bob, "secret", fixture("affine_v2.onnx"), None)
        .await;
    assert_error(hidden, StatusCode::NOT_FOUND, "not_found", "secret").await;
    // Admins may add versions to anyone's model.
    let by_admin = app
        .push(&app.admin_token, "shared", fixture("affine_v2.onnx"), None)
        .await;
    assert_eq!(by_admin.status(), StatusCode::CREATED);
    assert_eq!(app.stored_blobs().len(), 2, "refused pushes stored nothing");
}

pub async fn an_api_token_with_publish_scope_can_push(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let token = app.api_token(&alice, &["read", "publish"]).await;
    assert!(token.starts_with("cvn_"));
    let version = app.push_ok(&token, "from-ci", "affine.onnx", None).await;
    assert_eq!(version["created_by"], "alice");
    let (status, _) = app.get_json(Some(&token), "/api/v1/models/from-ci").await;
    assert_eq!(status, StatusCode::OK);
}

pub async fn pushes_and_downloads_work_on_s3_storage(backend: Backend) {
    let app = spawn_app_with(backend, |s| use_s3(s, &s3_secret())).await;
    let (status, _) = app.get_json(None, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let version = app
        .push_ok(&app.admin_token, "on-s3", "affine.onnx", None)
        .await;
    let bytes = app
        .get(
            Some(&app.admin_token),
            "/api/v1/models/on-s3/versions/1/artifact",
        )
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), fixture("affine.onnx").as_slice());
    assert_eq!(version["sha256"], hex::encode(Sha256::digest(&bytes)));
    let refused = app
        .push(&app.admin_token, "bad", fixture("zipmap.onnx"), None)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.stored_blobs().is_empty(),
        "nothing is written to local disk"
    );
    assert_eq!(
        app.delete(&app.admin_token, "/api/v1/models/on-s3")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let sha = version["sha256"].as_str().unwrap();
    assert!(
        !app.app_core.blobs_for_tests().exists(sha).await.unwrap(),
        "the blob is swept from S3"
    );
}

pub async fn unreachable_storage_makes_the_server_unready(backend: Backend) {
    let app = spawn_app_with(backend, |s| use_s3(s, "a-wrong-secret")).await;
    let (status, body) = app.get_json(None, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], "not_ready");
    let (status, _) = app.get_json(None, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "alive, just not ready");
}
