//! `spawn_runner`: a real `caravan runner` (the one-model server) in this process on
//! 127.0.0.1:0, with the real `caravan` binary as validator.

use std::net::TcpListener;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use caravan::Settings;
use caravan::runner::RunnerArgs;
use reqwest::{Response, multipart};
use serde_json::Value;

use crate::{caravan_binary, fixture, fixture_path, v2::decode_response};

pub struct TestRunner {
    pub base: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A runner serving the fixture `model` as `name`; `swap_token` turns `PUT /model` on.
pub async fn spawn_runner(name: &str, model: &str, swap_token: Option<&str>) -> TestRunner {
    try_spawn_runner(name, model, swap_token)
        .await
        .expect("the runner starts")
}

pub async fn try_spawn_runner(
    name: &str,
    model: &str,
    swap_token: Option<&str>,
) -> anyhow::Result<TestRunner> {
    let model = fixture_path(model);
    try_spawn_with(swap_token, None, |args| {
        args.model = Some(model);
        args.name = Some(name.into());
    })
    .await
}

/// A runner following `url` (`.../api/v1/models/NAME/aliases/ALIAS`) with `token`.
pub async fn try_spawn_following(
    url: &str,
    token: Option<&str>,
    swap_token: Option<&str>,
) -> anyhow::Result<TestRunner> {
    try_spawn_with(swap_token, token, |args| args.follow = Some(url.into())).await
}

async fn try_spawn_with(
    swap_token: Option<&str>,
    token: Option<&str>,
    source: impl FnOnce(&mut RunnerArgs),
) -> anyhow::Result<TestRunner> {
    let dir = tempfile::tempdir().unwrap();
    let write = |file: &str, token: &str| {
        let path = dir.path().join(file);
        std::fs::write(&path, format!("{token}\n")).unwrap();
        path
    };
    let mut settings = Settings::defaults();
    settings.http.workers = 2;
    settings.onboarding.validator = caravan_binary().display().to_string();
    let mut args = RunnerArgs {
        model: None,
        follow: None,
        token_file: token.map(|t| write("token", t)),
        bind: "127.0.0.1:0".into(),
        swap_token_file: swap_token.map(|t| write("swap-token", t)),
        name: None,
    };
    source(&mut args);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = caravan::runner::build(&settings, &args, listener).await?;
    if let Some(follower) = &app.follower {
        follower.clone().spawn(app.runner.clone());
    }
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    Ok(TestRunner {
        base,
        client: reqwest::Client::new(),
        _dir: dir,
    })
}

impl TestRunner {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `PUT /model` with the bytes of a fixture as the `model` part.
    pub async fn swap(&self, token: Option<&str>, model: &str, query: &str) -> Response {
        self.swap_bytes(token, fixture(model), query).await
    }

    pub async fn swap_bytes(&self, token: Option<&str>, bytes: Vec<u8>, query: &str) -> Response {
        let form = multipart::Form::new().part(
            "model",
            multipart::Part::bytes(bytes).file_name("model.onnx"),
        );
        let mut request = self
            .client
            .put(self.url(&format!("/model{query}")))
            .multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn infer(&self, model: &str, version: Option<&str>, body: &Value) -> Response {
        self.client
            .post(self.url(&crate::v2::infer_path(model, version)))
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// Clients asking a runner to score x = [v, v, v, v] with an affine fixture (input `x`, output
/// `y`) in a loop until stopped, keeping every answer.
pub struct Load {
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicUsize>,
    answers: Arc<Mutex<Vec<Answer>>>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

/// One answer: the version that gave it, the input value and the first output value.
pub struct Answer {
    pub version: String,
    pub x: f32,
    pub y: f64,
}

impl Load {
    pub fn start(runner: &Arc<TestRunner>, model: &str, clients: u32) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicUsize::new(0));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let clients = (0..clients)
            .map(|c| {
                let (runner, stop, failed, answers) =
                    (runner.clone(), stop.clone(), failed.clone(), answers.clone());
                let model = model.to_owned();
                tokio::spawn(async move {
                    let mut i = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let x = (c * 1000 + i % 1000) as f32;
                        i += 1;
                        let body = serde_json::json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x, x, x, x]}] });
                        let result = decode_response(runner.infer(&model, None, &body).await).await;
                        if result.status != reqwest::StatusCode::OK {
                            failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let y = result.output("y").data[0].as_f64().unwrap();
                        let version = result.version();
                        answers.lock().unwrap().push(Answer { version, x, y });
                    }
                })
            })
            .collect();
        Load {
            stop,
            failed,
            answers,
            clients,
        }
    }

    /// Stops the clients: how many requests failed, and every answer.
    pub async fn stop(self) -> (usize, Vec<Answer>) {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.await.unwrap();
        }
        let answers = std::mem::take(&mut *self.answers.lock().unwrap());
        (self.failed.load(Ordering::Relaxed), answers)
    }
}
