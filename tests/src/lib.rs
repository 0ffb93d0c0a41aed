//! `spawn_app`: the real application on 127.0.0.1:0 with a fresh SQLite file or a fresh
//! PostgreSQL database, a local object store in a temporary directory, the real `caravan`
//! binary as validator, and typed helpers for the calls tests make; the ONNX model builders,
//! hostile models and V2 helpers every suite shares.

pub mod acumos;
pub mod browser;

/// Declares `sqlite::<test>` and `postgres::<test>` for each `async fn test(Backend)` of the
/// suite that invokes it (`threads = N;` first sets the runtime's worker threads, 2 by
/// default).
#[macro_export]
macro_rules! on_both_backends {
    (threads = $threads:literal; $($module:ident :: $test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
                async fn $test() {
                    super::$module::$test($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
                async fn $test() {
                    super::$module::$test($crate::Backend::Postgres).await;
                }
            )*
        }
    };
    ($($module:ident :: $test:ident),* $(,)?) => {
        $crate::on_both_backends!(threads = 2; $($module :: $test),*);
    };
}

pub mod hostile;
pub mod onnx;
pub mod runner;
pub mod v2;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
};

use caravan::{Application, Settings};
use caravan_catalog::testing::TestPostgres;
use reqwest::{Response, StatusCode, multipart};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app_core: caravan_core::Core,
    pub admin_token: String,
    pub data_dir: PathBuf,
    /// The catalog's URL (SQLite file or PostgreSQL database), to start a second app on it.
    pub database_url: String,
    /// The federation listener's port, when `federation.bind` was set.
    pub federation_port: Option<u16>,
    /// The gRPC listener's port, when `grpc.bind` was set.
    pub grpc_port: Option<u16>,
    _dir: tempfile::TempDir,
    _pg: Option<TestPostgres>,
}

/// The `caravan` binary next to this test binary (target/<profile>/caravan).
pub fn caravan_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().join("caravan");
    assert!(
        bin.is_file(),
        "{} is missing: build the workspace (cargo build)",
        bin.display()
    );
    bin
}

/// The path of a file under tests/fixtures.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Points the app at the S3 server of scripts/services.sh, under a fresh prefix, with the given
/// secret key (a wrong one makes storage unreachable).
pub fn use_s3(settings: &mut Settings, secret: &str) {
    let env = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.into());
    let bucket = env("CARAVAN_TEST_S3_BUCKET", "caravan-test");
    settings.storage.url = format!("s3://{bucket}/api-{}", uuid::Uuid::new_v4().simple());
    settings.storage.s3.endpoint = env("CARAVAN_TEST_S3_ENDPOINT", "http://127.0.0.1:8333");
    settings.storage.s3.access_key_id = env("CARAVAN_TEST_S3_KEY", "caravan");
    settings.storage.s3.secret_access_key = secret.to_owned().into();
    settings.storage.s3.allow_http = true;
}

/// The secret of the S3 server of scripts/services.sh.
pub fn s3_secret() -> String {
    std::env::var("CARAVAN_TEST_S3_SECRET").unwrap_or_else(|_| "caravan-test-secret".into())
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut settings = Settings::defaults();
    settings.data_dir = data_dir.clone();
    settings.http.workers = 2;
    settings.auth.jwt_secret = JWT_SECRET.to_owned().into();
    settings.auth.bootstrap_admin_password = ADMIN_PASSWORD.to_owned().into();
    settings.onboarding.validator = caravan_binary().display().to_string();
    settings.storage.sweep_interval_secs = 0;
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let pg = TestPostgres::create().await;
            settings.database.url = pg.url.clone().into();
            Some(pg)
        }
    };
    tweak(&mut settings);
    let database_url = settings.database_url();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_with_listener(settings, listener)
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let app_core = app.core().clone();
    let federation_port = app.federation_port();
    let grpc_port = app.grpc_port();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let mut test = TestApp {
        base,
        client,
        app_core,
        database_url,
        federation_port,
        grpc_port,
        admin_token: String::new(),
        data_dir,
        _dir: dir,
        _pg: pg,
    };
    test.admin_token = test.login("admin", ADMIN_PASSWORD).await;
    test.wait_until_ready().await;
    test
}

impl TestApp {
    /// Polls the V2 readiness until the app has loaded its aliased versions (30 s at most).
    pub async fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut backoff = std::time::Duration::from_millis(5);
        loop {
            let ready = self
                .client
                .get(self.url("/v2/health/ready"))
                .send()
                .await
                .unwrap();
            let status = ready.status();
            if status == StatusCode::OK {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the app never became ready ({status})"
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(std::time::Duration::from_millis(200));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self.try_login(username, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login as {username}");
        response.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Attempts a login and returns the raw response.
    pub async fn try_login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// `PUT /api/v1/models/{model}/aliases/{alias}` with `body`.
    pub async fn set_alias(&self, token: &str, model: &str, alias: &str, body: Value) -> Response {
        let path = format!("/api/v1/models/{model}/aliases/{alias}");
        self.send_json(reqwest::Method::PUT, token, &path, body)
            .await
    }

    /// Posts a multipart form to a model's versions as `token`.
    pub async fn push_form(&self, token: &str, model: &str, form: multipart::Form) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/models/{model}/versions")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Creates a user (as admin) and returns a session token for them.
    pub async fn user(&self, username: &str) -> String {
        let password = format!("{username}-password");
        let response = self
            .post_json(
                &self.admin_token,
                "/api/v1/users",
                json!({
                    "username": username, "password": password, "role": "user"
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        self.login(username, &password).await
    }

    /// Creates an API token with these scopes for the holder of `session`.
    pub async fn api_token(&self, session: &str, scopes: &[&str]) -> String {
        let response = self
            .post_json(
                session,
                "/api/v1/tokens",
                json!({ "name": "test", "scopes": scopes }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `/metrics` as an admin sees it (everything).
    pub async fn metrics_text(&self) -> String {
        let response = self.get(Some(&self.admin_token), "/metrics").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    pub async fn get_json(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let response = self.get(token, path).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn post_json(&self, token: &str, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Value,
    ) -> Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, token: &str, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Pushes `bytes` as a version of `model`, with optional metadata JSON text.
    pub async fn push(
        &self,
        token: &str,
        model: &str,
        bytes: Vec<u8>,
        metadata: Option<&str>,
    ) -> Response {
        let mut form = multipart::Form::new().part(
            "model",
            multipart::Part::bytes(bytes).file_name("model.onnx"),
        );
        if let Some(metadata) = metadata {
            form = form.text("metadata", metadata.to_owned());
        }
        self.client
            .post(self.url(&format!("/api/v1/models/{model}/versions")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Pushes and expects success; returns the version JSON.
    pub async fn push_ok(
        &self,
        token: &str,
        model: &str,
        fixture_name: &str,
        metadata: Option<&str>,
    ) -> Value {
        let response = self
            .push(token, model, fixture(fixture_name), metadata)
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "push failed: {status} {body}");
        body
    }

    /// Sends `POST path` over a plain socket, exactly as written (clients normalise `..`), as
    /// admin with an empty multipart body; returns the status and the body.
    pub async fn raw_post(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.base.trim_start_matches("http://");
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 6\r\n\
             Connection: close\r\n\r\n--x--\r\n",
            self.admin_token
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        socket.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (status, body)
    }

    /// Files stored under the object store's blob directory.
    pub fn stored_blobs(&self) -> Vec<PathBuf> {
        files_under(&self.data_dir.join("objects/blobs"))
    }

    /// Files left in the upload staging directory.
    pub fn staged_files(&self) -> Vec<PathBuf> {
        let mut files = files_under(&self.data_dir.join("staging"));
        // Each process's claim on its staging directory, not an upload.
        files.retain(|f| f.extension().is_none_or(|e| e != "lock"));
        files
    }

    /// Asserts that no model, version or blob exists and no upload is left in staging.
    pub async fn assert_nothing_stored(&self) {
        let (status, page) = self
            .get_json(Some(&self.admin_token), "/api/v1/models")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"], json!([]), "no model may remain");
        assert!(
            self.stored_blobs().is_empty(),
            "no blob may remain: {:?}",
            self.stored_blobs()
        );
        assert!(
            self.staged_files().is_empty(),
            "no staging file may remain: {:?}",
            self.staged_files()
        );
        let audit = self
            .app_core
            .catalog_for_tests()
            .list_audit(100, None)
            .await
            .unwrap();
        assert!(
            audit
                .iter()
                .all(|e| !e.action.starts_with("version.") && !e.action.starts_with("model."))
        );
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// Asserts an error response: its status, its JSON `code`, and that its `error` mentions
/// `needle`.
pub async fn assert_error(
    response: Response,
    status: StatusCode,
    code: &str,
    needle: &str,
) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "error {message:?} should mention {needle:?}"
    );
    body
}
