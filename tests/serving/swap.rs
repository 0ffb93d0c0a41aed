//! Hot swap: an alias moves only to a loaded, warm version, requests never fail because of a
//! swap, and aliased versions are loaded again before a restarted server says it is ready.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app, spawn_app_with, v2::decode_response};

fn request(x: f32) -> Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x, x, x, x]}] })
}

/// The answer each version gives: v1 computes 2x + 1, v2 computes 3x + 1.
fn expected(version: &str, x: f32) -> f64 {
    match version {
        "1" => f64::from(2.0 * x + 1.0),
        "2" => f64::from(3.0 * x + 1.0),
        other => panic!("unexpected version {other}"),
    }
}

async fn two_versions(app: &TestApp) {
    app.push_ok(&app.admin_token, "fraud", "affine.onnx", None)
        .await;
    app.push_ok(&app.admin_token, "fraud", "affine_v2.onnx", None)
        .await;
    let set = app
        .set_alias(&app.admin_token, "fraud", "champion", json!({"version": 1}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
}

pub async fn fifty_swaps_under_load_fail_no_request(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    two_versions(&app).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (app, stop, ok, failed) = (app.clone(), stop.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let x = (c * 1000 + i % 1000) as f32;
                    i += 1;
                    let response = app
                        .infer_json(Some(&app.admin_token), "fraud", None, &request(x))
                        .await;
                    let result = decode_response(response).await;
                    if result.status != StatusCode::OK {
                        failed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let y = result.output("y").data[0].as_f64().unwrap();
                    assert_eq!(
                        y,
                        expected(&result.version(), x),
                        "an answer matches the version that gave it"
                    );
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for swap in 0..50 {
        let target = if swap % 2 == 0 { 2 } else { 1 };
        let moved = app
            .set_alias(
                &app.admin_token,
                "fraud",
                "champion",
                json!({"version": target}),
            )
            .await;
        assert_eq!(moved.status(), StatusCode::OK);
        // Once the swap has returned, new requests are answered by the new version.
        let result = decode_response(
            app.infer_json(Some(&app.admin_token), "fraud", None, &request(1.0))
                .await,
        )
        .await;
        assert_eq!(result.version(), target.to_string(), "after swap {swap}");
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed during 50 swaps"
    );
    assert!(
        ok.load(Ordering::Relaxed) >= 100,
        "the load loop really ran: {}",
        ok.load(Ordering::Relaxed)
    );
    let (_, log) = app
        .get_json(Some(&app.admin_token), "/api/v1/audit?limit=60")
        .await;
    let swaps = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "alias.set")
        .count();
    assert!(swaps >= 50, "every swap is audited");
}

pub async fn a_version_that_cannot_load_leaves_the_alias_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    two_versions(&app).await;
    let (_, v2) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/fraud/versions/2")
        .await;
    let sha = v2["sha256"].as_str().unwrap();
    let blob = app
        .data_dir
        .join(format!("objects/blobs/sha256/{}/{}", &sha[..2], &sha[2..]));
    // Bytes ONNX Runtime cannot load where version 2's file is (a lost blob is a server
    // failure instead: a 500, see the leak tests).
    std::fs::write(&blob, b"not an onnx model").unwrap();
    let refused = app
        .set_alias(&app.admin_token, "fraud", "champion", json!({"version": 2}))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("cannot be served"),
        "{body}"
    );
    let (_, aliases) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/fraud/aliases")
        .await;
    assert_eq!(aliases["items"][0]["version"], 1, "the alias did not move");
    let result = decode_response(
        app.infer_json(Some(&app.admin_token), "fraud", None, &request(2.0))
            .await,
    )
    .await;
    assert_eq!(
        (result.status, result.version()),
        (StatusCode::OK, "1".to_string())
    );
}

pub async fn aliased_versions_are_loaded_before_a_restarted_server_is_ready(backend: Backend) {
    let first = spawn_app(backend).await;
    two_versions(&first).await;
    let (data_dir, database) = (first.data_dir.clone(), first.database_url.clone());
    let second = spawn_app_with(backend, move |s| {
        s.data_dir = data_dir;
        s.database.url = database.into();
    })
    .await;
    // spawn_app waits for V2 readiness; by then the champion is loaded without any request.
    let index = second
        .post_json(
            &second.admin_token,
            "/v2/repository/index",
            json!({"ready": true}),
        )
        .await;
    let index: Value = index.json().await.unwrap();
    assert_eq!(
        index,
        json!([{"name": "fraud", "version": "1", "state": "LOADED", "reason": ""}])
    );
    let (status, _) = second.get_json(None, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
}
