//! Deletion stops serving: a deleted model's or version's loaded copies leave memory at once,
//! aliased or not, and a deleted version is never served again, by number, alias or default,
//! on the replica that deleted it at once and on another one as soon as its short model cache
//! expires.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app, spawn_app_with, v2::decode_response};

fn request(x: f32) -> Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x, x, x, x]}] })
}

async fn infer_status(app: &TestApp, model: &str, version: Option<&str>) -> (StatusCode, Value) {
    let response = app
        .infer_json(Some(&app.admin_token), model, version, &request(1.0))
        .await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The version numbers the V2 statistics list as loaded for a model.
async fn loaded_versions(app: &TestApp, model: &str) -> Vec<String> {
    let (status, stats) = app
        .get_json(Some(&app.admin_token), &format!("/v2/models/{model}/stats"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    stats["model_stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["version"].as_str().unwrap().to_owned())
        .collect()
}

/// The process-wide count of loaded versions (each test runs in its own process).
async fn loaded_count(app: &TestApp) -> f64 {
    let metrics = app.metrics_text().await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("caravan_loaded_versions "))
        .expect("the loaded-versions gauge")
        .parse()
        .unwrap()
}

pub async fn a_deleted_model_leaves_memory_and_is_never_served(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "gone", "affine.onnx", None)
        .await;
    let set = app
        .set_alias(&app.admin_token, "gone", "champion", json!({"version": 1}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(infer_status(&app, "gone", None).await.0, StatusCode::OK);
    assert_eq!(loaded_count(&app).await, 1.0);

    let deleted = app.delete(&app.admin_token, "/api/v1/models/gone").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for version in [None, Some("1"), Some("champion"), Some("latest")] {
        let (status, body) = infer_status(&app, "gone", version).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{version:?}: {body}");
        assert!(body["error"].as_str().unwrap().contains("gone"), "{body}");
    }
    assert_eq!(
        loaded_count(&app).await,
        0.0,
        "the aliased version left memory with its model"
    );

    // A new model of the same name is served from its own file (v2 computes 3x + 1).
    app.push_ok(&app.admin_token, "gone", "affine_v2.onnx", None)
        .await;
    let result = decode_response(
        app.infer_json(Some(&app.admin_token), "gone", Some("1"), &request(1.0))
            .await,
    )
    .await;
    assert_eq!(result.status, StatusCode::OK);
    assert_eq!(result.output("y").data[0].as_f64().unwrap(), 4.0);
}

pub async fn a_deleted_version_is_never_served_by_number(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "fraud", "affine.onnx", None)
        .await;
    app.push_ok(&app.admin_token, "fraud", "affine_v2.onnx", None)
        .await;
    for version in ["1", "2"] {
        assert_eq!(
            infer_status(&app, "fraud", Some(version)).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(loaded_versions(&app, "fraud").await, ["1", "2"]);

    let deleted = app
        .delete(&app.admin_token, "/api/v1/models/fraud/versions/1")
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, body) = infer_status(&app, "fraud", Some("1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("no version 1"),
        "{body}"
    );
    for path in [
        "/v2/models/fraud/versions/1",
        "/v2/models/fraud/versions/1/ready",
    ] {
        let (status, body) = app.get_json(Some(&app.admin_token), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    assert_eq!(loaded_versions(&app, "fraud").await, ["2"]);
    let (_, metadata) = app
        .get_json(Some(&app.admin_token), "/v2/models/fraud")
        .await;
    assert_eq!(metadata["versions"], json!(["2"]));
    // The default is now the only version left.
    let result = decode_response(
        app.infer_json(Some(&app.admin_token), "fraud", None, &request(1.0))
            .await,
    )
    .await;
    assert_eq!(
        (result.status, result.version()),
        (StatusCode::OK, "2".into())
    );
}

pub async fn a_version_deleted_through_another_replica_stops_being_served_there(backend: Backend) {
    let first = spawn_app(backend).await;
    first
        .push_ok(&first.admin_token, "fraud", "affine.onnx", None)
        .await;
    first
        .push_ok(&first.admin_token, "fraud", "affine_v2.onnx", None)
        .await;
    let (data_dir, database) = (first.data_dir.clone(), first.database_url.clone());
    let second = spawn_app_with(backend, move |s| {
        s.data_dir = data_dir;
        s.database.url = database.into();
    })
    .await;
    assert_eq!(
        infer_status(&second, "fraud", Some("1")).await.0,
        StatusCode::OK
    );
    assert_eq!(loaded_versions(&second, "fraud").await, ["1"]);

    let deleted = first
        .delete(&first.admin_token, "/api/v1/models/fraud/versions/1")
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    // The second replica trusts its cached view of the model for about a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = infer_status(&second, "fraud", Some("1")).await;
        if status == StatusCode::NOT_FOUND {
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            Instant::now() < deadline,
            "the other replica kept serving it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        loaded_versions(&second, "fraud").await.is_empty(),
        "the replica unloaded what it learned was deleted"
    );
}
