//! Bad requests: each gets a clear 4xx (or 503 under back-pressure) with an `error` string,
//! and the server keeps serving.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    golden::publish,
    support::{Backend, TestApp, assert_error, spawn_app, spawn_app_with, v2::decode_response},
};

fn affine(data: Value, shape: Value) -> Value {
    json!({ "inputs": [{"name": "x", "shape": shape, "datatype": "FP32", "data": data}] })
}

/// A good request still works (the server keeps serving after bad ones).
async fn still_serving(app: &TestApp, model: &str) {
    let ok = app
        .infer_json(
            Some(&app.admin_token),
            model,
            None,
            &affine(json!([1, 2, 3, 4]), json!([1, 4])),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

async fn post_raw(
    app: &TestApp,
    model: &str,
    body: Vec<u8>,
    header_length: Option<String>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/v2/models/{model}/infer")))
        .bearer_auth(&app.admin_token)
        .body(body);
    if let Some(n) = header_length {
        request = request.header("Inference-Header-Content-Length", n);
    }
    request.send().await.unwrap()
}

pub async fn unknown_models_and_versions_are_404_with_an_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "affine.onnx").await;
    let body = affine(json!([1, 2, 3, 4]), json!([1, 4]));
    let token = Some(app.admin_token.as_str());
    for (name, version, needle) in [
        ("nope", None, "model nope not found"),
        (model.as_str(), Some("7"), "no version 7"),
        (model.as_str(), Some("canary"), "no alias canary"),
    ] {
        let response = app.infer_json(token, name, version, &body).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found", needle).await;
    }
    let (status, meta) = app.get_json(token, "/v2/models/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(meta["error"].is_string());
    still_serving(&app, &model).await;
}

pub async fn bad_inputs_are_400_with_a_precise_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "affine.onnx").await;
    let bomb = format!(
        r#"{{"inputs": [{{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": {}1{}}}]}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (serde_json::to_vec(&json!({"inputs": [{"name": "z", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]})).unwrap(), "unknown input \"z\""),
        (serde_json::to_vec(&json!({"inputs": []})).unwrap(), "input \"x\" is missing"),
        (serde_json::to_vec(&json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]})).unwrap(), "must be FP32, not FP64"),
        (serde_json::to_vec(&affine(json!([1, 2, 3]), json!([1, 4]))).unwrap(), "3 were sent"),
        (serde_json::to_vec(&affine(json!([1, 2, 3, 4, 5]), json!([1, 5]))).unwrap(), "dimension 1 is 5"),
        (serde_json::to_vec(&affine(json!(["a", "b", "c", "d"]), json!([1, 4]))).unwrap(), "expected a number"),
        (serde_json::to_vec(&json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP16", "data": [1, 2, 3, 4]}]})).unwrap(), "cannot be sent as JSON"),
        (b"this is not json".to_vec(), "not valid inference JSON"),
        (bomb.into_bytes(), "recursion limit"),
    ];
    for (body, needle) in cases {
        let response = post_raw(&app, &model, body, None).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request", needle).await;
    }
    let unknown_output = json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": [{"name": "q"}]});
    let response = app
        .infer_json(Some(&app.admin_token), &model, None, &unknown_output)
        .await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "unknown output \"q\"",
    )
    .await;
    still_serving(&app, &model).await;
}

pub async fn bad_binary_framing_is_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "affine.onnx").await;
    let header = |size: usize| {
        serde_json::to_vec(
            &json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
            "parameters": {"binary_data_size": size}}]}),
        )
        .unwrap()
    };
    // binary_data_size larger than the body.
    let mut body = header(64);
    let n = body.len();
    body.extend([0u8; 16]);
    let response = post_raw(&app, &model, body, Some(n.to_string())).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "binary_data_size 64",
    )
    .await;
    // Inference-Header-Content-Length beyond the body.
    let mut body = header(16);
    body.extend([0u8; 16]);
    let beyond = (body.len() + 10).to_string();
    let response = post_raw(&app, &model, body, Some(beyond)).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Inference-Header-Content-Length",
    )
    .await;
    // A header that is not JSON, and a length that is not a number.
    let response = post_raw(&app, &model, b"garbage!garbage!".to_vec(), Some("8".into())).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "not valid inference JSON",
    )
    .await;
    let response = post_raw(&app, &model, header(16), Some("lots".into())).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "byte count",
    )
    .await;
    // The right size for 3 floats, not 4.
    let mut body = header(12);
    let n = body.len();
    body.extend([0u8; 12]);
    let response = post_raw(&app, &model, body, Some(n.to_string())).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "need 16 bytes",
    )
    .await;
    still_serving(&app, &model).await;
}

pub async fn requests_over_the_row_cap_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.serving.max_rows_per_request = 8).await;
    let model = publish(&app, "affine.onnx").await;
    let rows = 9;
    let body = affine(json!(vec![1.0; rows * 4]), json!([rows, 4]));
    let response = app
        .infer_json(Some(&app.admin_token), &model, None, &body)
        .await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "at most 8",
    )
    .await;
    let body = affine(json!(vec![1.0; 8 * 4]), json!([8, 4]));
    let result = decode_response(
        app.infer_json(Some(&app.admin_token), &model, None, &body)
            .await,
    )
    .await;
    assert_eq!(result.status, StatusCode::OK);
}

pub async fn a_full_queue_answers_503_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.serving.sessions_per_version = 1;
        s.serving.queue_capacity = 2;
        s.serving.batching = false;
    })
    .await;
    let model = publish(&app, "slow.onnx").await;
    let body = json!({"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32", "data": [1, 1, 1, 1]}]});
    let requests: Vec<_> = (0..24)
        .map(|_| app.infer_json(Some(&app.admin_token), &model, None, &body))
        .collect();
    let responses = futures::future::join_all(requests).await;
    let mut busy = 0;
    for response in responses {
        match response.status() {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "1");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "busy");
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy > 0, "some requests found the queue full");
    let result = decode_response(
        app.infer_json(Some(&app.admin_token), &model, None, &body)
            .await,
    )
    .await;
    assert_eq!(
        result.status,
        StatusCode::OK,
        "it serves again once the queue drains"
    );
}
