//! `spawn_runner`: a real `caravan runner` (the one-model server) in this process on
//! 127.0.0.1:0, with the real `caravan` binary as validator.

use std::net::TcpListener;

use caravan::Settings;
use caravan::runner::RunnerArgs;
use reqwest::{Response, multipart};
use serde_json::Value;

use crate::{caravan_binary, fixture, fixture_path};

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
