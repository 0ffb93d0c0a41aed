//! Helpers of the pipelines suite: an app whose trainers start through the real `caravan`
//! binary, generated datasets, the test trainer, and waiting for runs to end.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, caravan_binary, fixture_path, spawn_app_with};

pub async fn app(backend: Backend) -> TestApp {
    app_with(backend, |_| {}).await
}

pub async fn app_with(backend: Backend, tweak: impl FnOnce(&mut caravan::Settings)) -> TestApp {
    spawn_app_with(backend, |s| {
        s.pipelines.launcher = caravan_binary().display().to_string();
        s.pipelines.poll_secs = 1;
        s.pipelines.retry_base_secs = 0;
        tweak(s);
    })
    .await
}

/// A CSV of `rows` rows with features a-d in [-1, 1] and a label that is 1 when
/// a + 0.5 b - c > 0 (or the opposite, for a dataset that teaches the wrong thing).
pub fn csv(rows: usize, seed: u64, inverted: bool) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
    };
    let mut out = String::from("a,b,c,d,label\n");
    for _ in 0..rows {
        let (a, b, c, d) = (next(), next(), next(), next());
        let positive = (a + 0.5 * b - c > 0.0) != inverted;
        out.push_str(&format!(
            "{a:.4},{b:.4},{c:.4},{d:.4},{}\n",
            u8::from(positive)
        ));
    }
    out
}

pub async fn upload_dataset(app: &TestApp, name: &str, text: String) -> reqwest::Response {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(text.into_bytes()).file_name("data.csv"),
    );
    app.client
        .post(app.url(&format!("/api/v1/datasets/{name}/versions")))
        .bearer_auth(&app.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub async fn dataset(app: &TestApp, name: &str, text: String) -> Value {
    let response = upload_dataset(app, name, text).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{status} {body}");
    body
}

/// The test trainer, copied where a trainer running as another user can read it.
pub struct Trainer {
    _dir: tempfile::TempDir,
    pub script: String,
}

pub fn trainer() -> Trainer {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("caravan-trainer-")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.path().join("logistic.py");
    std::fs::copy(fixture_path("trainers/logistic.py"), &script).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    Trainer {
        script: script.display().to_string(),
        _dir: dir,
    }
}

/// A retraining pipeline for `model` on dataset `telemetry`, judged on `holdout`.
pub fn spec(name: &str, model: &str, trainer: &Trainer, params: Value) -> Value {
    let mut params = params;
    params["features"] = json!(["a", "b", "c", "d"]);
    json!({
        "name": name,
        "model": model,
        "trigger": { "dataset": "telemetry" },
        "train": {
            "dataset": "telemetry",
            "command": { "argv": ["python3", trainer.script, "{dataset}", "{output}", "{params}"], "timeout_secs": 60 },
            "params": params,
        },
        "evaluate": {
            "dataset": "holdout", "task": "binary", "label": "label",
            "inputs": { "X": ["a", "b", "c", "d"] }, "output": "label", "scores": "probabilities",
            "metric": "f1",
        },
        "retries": 0,
    })
}

pub async fn create_pipeline(app: &TestApp, spec: Value) -> reqwest::Response {
    app.post_json(&app.admin_token, "/api/v1/pipelines", spec)
        .await
}

/// Waits for the pipeline's run number `number` to exist and end; returns it.
pub async fn finished_run(app: &TestApp, pipeline: &str, number: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, runs) = app
            .get_json(
                Some(&app.admin_token),
                &format!("/api/v1/pipelines/{pipeline}/runs"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{runs}");
        if let Some(run) = runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["number"] == number)
            && ["succeeded", "failed", "cancelled"].contains(&run["status"].as_str().unwrap())
        {
            return run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "run {number} of {pipeline} did not end: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The version `alias` points to, if any.
pub async fn alias_version(app: &TestApp, model: &str, alias: &str) -> Option<i64> {
    let (_, details) = app
        .get_json(Some(&app.admin_token), &format!("/api/v1/models/{model}"))
        .await;
    details["aliases"]
        .as_array()?
        .iter()
        .find(|a| a["alias"] == alias)
        .and_then(|a| a["version"].as_i64())
}

/// One inference through the default alias; returns the version that answered.
pub async fn infer(app: &TestApp, model: &str) -> Result<String, String> {
    let body = json!({ "inputs": [{ "name": "X", "shape": [1, 4], "datatype": "FP32", "data": [0.5, 0.2, -0.3, 0.0] }] });
    let response = app
        .client
        .post(app.url(&format!("/v2/models/{model}/infer")))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status} {answer}"));
    }
    Ok(answer["model_version"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// The trainer's log of a finished run.
pub async fn train_log(app: &TestApp, pipeline: &str, run: &Value) -> String {
    let id = run["id"].as_str().expect("a run id");
    let path = format!("/api/v1/pipelines/{pipeline}/runs/{id}/logs/train");
    let response = app.get(Some(&app.admin_token), &path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}
