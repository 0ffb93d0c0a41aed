//! Hostile models pushed by an ordinary publisher and called over V2: each bomb fails with a
//! clear 422 in bounded time and memory while another model keeps answering every request, a
//! caller that gives up frees its run at once, and a model whose output is always too large is
//! refused when it would be loaded.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    golden::publish,
    support::{Backend, TestApp, spawn_app_with},
};

fn affine_request() -> Value {
    json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]})
}

fn x() -> Value {
    json!({"name": "x", "shape": [1], "datatype": "FP32", "data": [1]})
}

fn loop_request(trips: i64) -> Value {
    json!({"inputs": [{"name": "n", "shape": [], "datatype": "INT64", "data": [trips]}, x()]})
}

async fn bomb_answer(app: &TestApp, model: &str, body: &Value) -> (StatusCode, String) {
    let response = app
        .infer_json(Some(&app.admin_token), model, None, body)
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

pub async fn bombs_fail_clearly_while_another_model_answers_every_request(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.serving.inference_memory_mb = 256;
        s.serving.max_run_ms = 500;
    })
    .await;
    let affine = publish(&app, "affine.onnx").await;
    let expand = publish(&app, "bomb_expand.onnx").await;
    let constant = publish(&app, "bomb_constant.onnx").await;
    let looping = publish(&app, "bomb_loop.onnx").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A steady client of the good model for as long as the bombs go off.
    let steady = {
        let (client, token, stop) = (app.client.clone(), app.admin_token.clone(), stop.clone());
        let url = app.url(&format!("/v2/models/{affine}/infer"));
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&affine_request())
                    .send()
                    .await
                    .unwrap();
                match response.status() {
                    StatusCode::OK => ok += 1,
                    other => failed.push(other),
                }
            }
            (ok, failed)
        })
    };
    let started = Instant::now();
    // 2 GB from a 16-byte request, and 2 GB from a constant: eight times the arena.
    let shape = json!({"name": "shape", "shape": [2], "datatype": "INT64", "data": [25000, 20000]});
    let (status, error) = bomb_answer(&app, &expand, &json!({"inputs": [x(), shape]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error.contains("needs more memory"), "{error}");
    let (status, error) = bomb_answer(&app, &constant, &json!({"inputs": [x()]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error.contains("needs more memory"), "{error}");
    // 2^50 trips: stopped at the 500 ms limit.
    let (status, error) = bomb_answer(&app, &looping, &loop_request(1 << 50)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error.contains("500 ms"), "{error}");
    assert!(
        !error.contains("onnxruntime"),
        "no engine internals: {error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = steady.await.unwrap();
    assert!(failed.is_empty(), "the good model failed: {failed:?}");
    assert!(ok > 0);
    // Each bomb model still answers what it can afford.
    let (status, _) = bomb_answer(&app, &looping, &loop_request(3)).await;
    assert_eq!(status, StatusCode::OK);
}

pub async fn a_caller_that_gives_up_frees_its_run_at_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.serving.sessions_per_version = 1;
        s.serving.max_run_ms = 600_000;
    })
    .await;
    let looping = publish(&app, "bomb_loop.onnx").await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(app.url(&format!("/v2/models/{looping}/infer")))
        .bearer_auth(&app.admin_token)
        .json(&loop_request(1 << 50))
        .send()
        .await;
    assert!(gave_up.is_err(), "the run cannot finish in 300 ms");
    // One session: this answers only once the abandoned run has stopped.
    let started = Instant::now();
    let (status, error) = bomb_answer(&app, &looping, &loop_request(3)).await;
    assert_eq!(status, StatusCode::OK, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the session was busy for {:?}",
        started.elapsed()
    );
}

pub async fn a_model_whose_output_is_always_too_large_is_refused_when_loaded(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.serving.inference_memory_mb = 256).await;
    let model = publish(&app, "bomb_output.onnx").await;
    let (status, error) = bomb_answer(&app, &model, &json!({"inputs": [x()]})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(error.contains("10000000000 bytes"), "{error}");
    assert!(error.contains("inference_memory_mb"), "{error}");
}
