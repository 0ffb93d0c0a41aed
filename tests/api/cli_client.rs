//! `caravan login`, `push` and `pull` as a CI job runs them: the real binary against a
//! server, over HTTP only. An interrupted push of a 300 MB model resumes from the parts the
//! server has; a pull resumes a partial file and refuses bytes that do not hash right.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Stdio,
};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{
    ADMIN_PASSWORD, Backend, TestApp, caravan_binary, fixture, onnx::add_model, spawn_app,
};

/// A client's own home: its credentials and its cache of unfinished uploads.
struct Client {
    home: tempfile::TempDir,
    url: String,
    token: Option<String>,
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

impl Client {
    fn new(app: &TestApp, token: Option<&str>) -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            url: app.base.clone(),
            token: token.map(str::to_owned),
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(caravan_binary());
        command
            .args(args)
            .current_dir(self.home.path())
            .env_remove("CARAVAN_TOKEN")
            .env_remove("CARAVAN_URL")
            .env("CARAVAN_CONFIG_DIR", self.home.path().join("config"))
            .env("CARAVAN_CACHE_DIR", self.home.path().join("cache"))
            .env("CI", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(token) = &self.token {
            command
                .env("CARAVAN_URL", &self.url)
                .env("CARAVAN_TOKEN", token);
        }
        command
    }

    async fn run(&self, args: &[&str], stdin: &str) -> Outcome {
        let mut child = self.command(args).spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The one line of a failure, with its reason.
fn assert_fails(outcome: &Outcome, code: i32, needle: &str) {
    assert_eq!(outcome.code, code, "{}", outcome.stderr);
    let last = outcome.stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("caravan: ") && last.contains(needle),
        "{:?} should say {needle:?}",
        outcome.stderr
    );
}

pub async fn login_push_and_pull_round_trip_with_aliases_metadata_and_verified_bytes() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = Client::new(&app, None);
    let login = client
        .run(
            &["login", &app.base, "--username", "admin"],
            &format!("{ADMIN_PASSWORD}\n"),
        )
        .await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    let credentials = client.path("config/credentials.json");
    let mode = std::fs::metadata(&credentials)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner may read the token");
    let stored = std::fs::read_to_string(&credentials).unwrap();
    assert!(!stored.contains(ADMIN_PASSWORD), "no password is kept");

    let model = client.path("affine.onnx");
    std::fs::write(&model, fixture("affine.onnx")).unwrap();
    let model = model.to_str().unwrap();
    let metadata = r#"{"description": "pushed by the CLI", "visibility": "public"}"#;
    let pushed = client
        .run(
            &[
                "push",
                model,
                "--model",
                "affine",
                "--alias",
                "champion",
                "--metadata",
                metadata,
                "--json",
            ],
            "",
        )
        .await;
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let report = pushed.json();
    assert_eq!(
        (report["version"].as_i64(), report["created"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(report["sha256"], sha(&fixture("affine.onnx")));
    let (_, found) = app.get_json(None, "/api/v1/models/affine").await;
    assert_eq!(found["description"], "pushed by the CLI");
    let (_, alias) = app
        .get_json(None, "/api/v1/models/affine/aliases/champion")
        .await;
    assert_eq!(alias["version"], 1);

    // Pushing the same file again is the same version.
    let again = client
        .run(&["push", model, "--model", "affine", "--json"], "")
        .await;
    assert_eq!(
        (again.code, again.json()["created"].as_bool()),
        (0, Some(false))
    );

    let pulled = client
        .run(&["pull", "affine@champion", "-o", "out.onnx", "--json"], "")
        .await;
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    assert_eq!(
        std::fs::read(client.path("out.onnx")).unwrap(),
        fixture("affine.onnx")
    );
    let default_name = client.run(&["pull", "affine:1"], "").await;
    assert_eq!(default_name.code, 0, "{}", default_name.stderr);
    assert!(client.path("affine-1.onnx").is_file());

    // A partial download resumes; one whose bytes are wrong is removed and refused.
    let bytes = fixture("affine.onnx");
    let partial = client.path(&format!(".resumed.onnx.{}.part", &sha(&bytes)[..16]));
    std::fs::write(&partial, &bytes[..bytes.len() / 2]).unwrap();
    let resumed = client
        .run(&["pull", "affine", "-o", "resumed.onnx", "--json"], "")
        .await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let report = resumed.json();
    assert_eq!(report["resumed_from"], bytes.len() / 2);
    assert_eq!(report["bytes_received"], bytes.len() - bytes.len() / 2);
    assert_eq!(std::fs::read(client.path("resumed.onnx")).unwrap(), bytes);
    let corrupt = client.path(&format!(".bad.onnx.{}.part", &sha(&bytes)[..16]));
    std::fs::write(&corrupt, vec![0u8; bytes.len() / 2]).unwrap();
    let refused = client.run(&["pull", "affine", "-o", "bad.onnx"], "").await;
    assert_fails(&refused, 1, "SHA-256");
    assert!(!corrupt.exists() && !client.path("bad.onnx").exists());
    // A leftover longer than the file is not resumed from: the pull starts over and is right.
    let longer = client.path(&format!(".long.onnx.{}.part", &sha(&bytes)[..16]));
    std::fs::write(&longer, vec![7u8; bytes.len() * 2]).unwrap();
    let fresh = client
        .run(&["pull", "affine", "-o", "long.onnx", "--json"], "")
        .await;
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    assert_eq!(fresh.json()["resumed_from"], 0);
    assert_eq!(std::fs::read(client.path("long.onnx")).unwrap(), bytes);
}

pub async fn failures_exit_with_one_line_and_a_code_that_says_whose_fault() {
    let app = spawn_app(Backend::Sqlite).await;
    let nowhere = Client::new(&app, None);
    let file = nowhere.path("notes.onnx");
    std::fs::write(&file, b"not a model at all").unwrap();
    let file = file.to_str().unwrap();
    assert_fails(
        &nowhere.run(&["push", file, "--model", "notes"], "").await,
        2,
        "no server",
    );

    let admin = Client::new(&app, Some(&app.admin_token));
    assert_fails(
        &admin
            .run(&["push", "missing.onnx", "--model", "m"], "")
            .await,
        2,
        "cannot open",
    );
    assert_fails(
        &admin
            .run(&["push", file, "--model", "m", "--metadata", "[1]"], "")
            .await,
        2,
        "JSON object",
    );
    let refused = admin.run(&["push", file, "--model", "notes"], "").await;
    assert_fails(&refused, 4, "422 model_refused");
    let errors = refused
        .stderr
        .lines()
        .filter(|l| l.starts_with("caravan: "))
        .count();
    assert_eq!(errors, 1, "one line: {}", refused.stderr);
    assert_fails(&admin.run(&["pull", "nothing-here"], "").await, 4, "404");

    let reader = app.api_token(&app.admin_token, &["read"]).await;
    let reader = Client::new(&app, Some(&reader));
    assert_fails(
        &reader.run(&["push", file, "--model", "notes"], "").await,
        3,
        "publish",
    );
    let bad_login = nowhere
        .run(&["login", &app.base, "--username", "admin"], "wrong\n")
        .await;
    assert_fails(&bad_login, 3, "401");
}

/// Reads the push's progress lines until half the parts are sent, then kills it.
async fn kill_halfway(client: &Client, file: &str) -> usize {
    let mut child = client
        .command(&["push", file, "--model", "big", "--parallel", "2"])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut sent = 0;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix("push big: part ") {
            let total: usize = rest.split_whitespace().nth(2).unwrap().parse().unwrap();
            sent += 1;
            if sent * 2 >= total {
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                return total;
            }
        }
    }
    panic!("the push ended before half its parts were sent");
}

pub async fn an_interrupted_push_of_a_300_mb_model_resumes_from_the_parts_received() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = Client::new(&app, Some(&app.admin_token));
    let bytes = add_model(75_000_000);
    let digest = sha(&bytes);
    let size = bytes.len();
    let file = client.path("big.onnx");
    std::fs::write(&file, &bytes).unwrap();
    drop(bytes);
    let file = file.to_str().unwrap();

    let total = kill_halfway(&client, file).await;
    let uploads = client.path("cache/uploads");
    let state: Value =
        serde_json::from_slice(&std::fs::read(first_file(&uploads)).unwrap()).unwrap();
    let id = state["id"].as_str().unwrap();
    let (_, upload) = app
        .get_json(Some(&app.admin_token), &format!("/api/v1/uploads/{id}"))
        .await;
    let received = upload["received"].as_array().unwrap().len();
    assert!(
        received * 2 >= total && received < total,
        "{received} of {total} parts arrived"
    );

    let resumed = client
        .run(&["push", file, "--model", "big", "--json"], "")
        .await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let report = resumed.json();
    assert_eq!(report["upload"], id, "the same upload, resumed");
    // A part whose bytes were all sent before the kill may be recorded just after the look.
    let resumed_parts = report["parts_resumed"].as_u64().unwrap() as usize;
    assert!(
        resumed_parts >= received && resumed_parts < total,
        "{report}"
    );
    let sent = report["bytes_sent"].as_u64().unwrap();
    assert!(
        sent < size as u64 / 2 + (16 << 20),
        "sent {sent} of {size} bytes the second time"
    );
    assert_eq!(
        (report["version"].as_i64(), report["sha256"].as_str()),
        (Some(1), Some(digest.as_str()))
    );
    assert!(
        std::fs::read_dir(&uploads).unwrap().next().is_none(),
        "the finished upload is forgotten"
    );

    let pulled = client
        .run(&["pull", "big:1", "-o", "pulled.onnx", "--json"], "")
        .await;
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    assert_eq!(pulled.json()["sha256"], digest);
    let mut hasher = Sha256::new();
    std::io::copy(
        &mut std::fs::File::open(client.path("pulled.onnx")).unwrap(),
        &mut hasher,
    )
    .unwrap();
    assert_eq!(hex::encode(hasher.finalize()), digest);
}

fn first_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .next()
        .expect("the push remembers its upload")
        .path()
}
