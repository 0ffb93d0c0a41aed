use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{Backend, fixture, spawn_app};

pub async fn a_download_returns_the_pushed_bytes_and_counts(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "m",
        "affine.onnx",
        Some(r#"{"visibility": "public"}"#),
    )
    .await;
    let bytes = fixture("affine.onnx");
    let sha = hex::encode(Sha256::digest(&bytes));
    for _ in 0..2 {
        let response = app.get(None, "/api/v1/models/m/versions/1/artifact").await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["etag"], format!("\"{sha}\""));
        assert_eq!(headers["content-length"], bytes.len().to_string());
        assert_eq!(headers["accept-ranges"], "bytes");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"m-v1.onnx\""
        );
        assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    let (_, model) = app.get_json(None, "/api/v1/models/m").await;
    assert_eq!(model["downloads"], 2);
}

pub async fn ranges_are_served_as_206_and_bad_ranges_as_416(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "m", "affine.onnx", None)
        .await;
    let bytes = fixture("affine.onnx");
    let n = bytes.len();
    let ranged = |range: String| {
        app.client
            .get(app.url("/api/v1/models/m/versions/1/artifact"))
            .bearer_auth(&app.admin_token)
            .header("Range", range)
            .send()
    };
    for (range, expected) in [
        ("bytes=0-9".to_string(), 0..10),
        (format!("bytes={}-", n - 7), n - 7..n),
        ("bytes=-5".to_string(), n - 5..n),
        (format!("bytes=100-{}", n + 50), 100..n),
    ] {
        let response = ranged(range.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        let content_range = response.headers()["content-range"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            content_range,
            format!("bytes {}-{}/{n}", expected.start, expected.end - 1)
        );
        assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[expected]);
    }
    let (_, model) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/m")
        .await;
    assert_eq!(
        model["downloads"], 1,
        "only the range starting at byte 0 counts"
    );
    let beyond = ranged(format!("bytes={n}-")).await.unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let body: Value = beyond.json().await.unwrap();
    assert_eq!(body["code"], "range_not_satisfiable");
    let malformed = ranged("bytes=9-2".into()).await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

pub async fn if_none_match_answers_304_and_head_sends_no_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let version = app
        .push_ok(&app.admin_token, "m", "affine.onnx", None)
        .await;
    let etag = format!("\"{}\"", version["sha256"].as_str().unwrap());
    let cached = app
        .client
        .get(app.url("/api/v1/models/m/versions/1/artifact"))
        .bearer_auth(&app.admin_token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert!(cached.bytes().await.unwrap().is_empty());
    let head = app
        .client
        .head(app.url("/api/v1/models/m/versions/1/artifact"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"],
        fixture("affine.onnx").len().to_string()
    );
    assert_eq!(head.headers()["etag"], etag.as_str());
    let (_, model) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/m")
        .await;
    assert_eq!(
        model["downloads"], 0,
        "neither a 304 nor a HEAD counts as a download"
    );
}
