//! The `caravan` binary itself: configuration layering, the user and token commands, start-up
//! errors, graceful shutdown and the validator subcommand.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_caravan");

fn caravan(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("CARAVAN_CONFIG")
        .env_remove("CARAVAN_ADMIN_PASSWORD");
    command
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn config_default_prints_the_documented_file_kept_in_deploy() {
    let dir = tempfile::tempdir().unwrap();
    let output = caravan(dir.path())
        .args(["config", "default"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let deployed = std::fs::read_to_string(repo_root().join("deploy/caravan.toml")).unwrap();
    assert_eq!(
        printed, deployed,
        "deploy/caravan.toml must equal `caravan config default`"
    );
    assert!(printed.contains("[database]") && printed.contains("max_model_bytes"));
}

#[test]
fn settings_layer_file_then_environment_and_hide_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("caravan.toml");
    std::fs::write(&file, "[http]\nbind = \"127.0.0.1:9999\"\nworkers = 3\n").unwrap();
    let output = caravan(dir.path())
        .args(["--config", file.to_str().unwrap(), "config", "show"])
        .env("CARAVAN__HTTP__WORKERS", "5")
        .env(
            "CARAVAN__DATABASE__URL",
            "postgres://app:hunter2@db.internal:5432/caravan",
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(
        shown.contains("127.0.0.1:9999"),
        "the file overrides the defaults"
    );
    assert!(
        shown.contains("workers: 5"),
        "the environment overrides the file"
    );
    assert!(shown.contains("postgres://app:***@db.internal:5432/caravan"));
    assert!(!shown.contains("hunter2"), "passwords never print");
}

#[test]
fn an_unknown_configuration_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("caravan.toml");
    std::fs::write(&file, "[http]\nbindd = \"x\"\n").unwrap();
    let output = caravan(dir.path())
        .args(["--config", file.to_str().unwrap(), "config", "show"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bindd"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[tokio::test]
async fn user_and_token_commands_create_working_credentials() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        caravan(dir.path())
            .arg("migrate")
            .status()
            .unwrap()
            .success()
    );
    let mut create = caravan(dir.path())
        .args(["user", "create", "ci-bot", "--role", "user"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"bot-password-123\n")
        .unwrap();
    let output = create.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("created user ci-bot"));

    let output = caravan(dir.path())
        .args([
            "token", "create", "--user", "ci-bot", "--scope", "read", "--scope", "publish",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("cvn_"));

    let refused = caravan(dir.path())
        .args(["token", "create", "--user", "ci-bot", "--scope", "admin"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("admin"));

    // The same database, opened the way the server opens it, accepts both credentials.
    let mut settings = caravan::Settings::defaults();
    settings.data_dir = dir.path().join("caravan-data");
    let core = caravan::startup::build_core(&settings, false)
        .await
        .unwrap();
    let principal = core.authenticate(&token).await.unwrap();
    assert_eq!(principal.username, "ci-bot");
    assert_eq!(principal.scopes.len(), 2);
    let session = core
        .login("ci-bot", "bot-password-123", "test")
        .await
        .unwrap();
    assert_eq!(session.user.username, "ci-bot");
}

#[test]
fn serve_without_onnx_runtime_fails_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let output = caravan(dir.path())
        .arg("serve")
        .env(
            "CARAVAN__INFERENCE__ORT_LIBRARY",
            "/nonexistent/libonnxruntime.so",
        )
        .env("CARAVAN__HTTP__BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("scripts/fetch-onnxruntime.sh"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = caravan(dir.path())
        .arg("serve")
        .env("CARAVAN__HTTP__BIND", "127.0.0.1:0")
        .env("CARAVAN_ADMIN_PASSWORD", "admin-password")
        .env("CARAVAN__LOG__FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the "listening" line, which carries the port.
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(&line).ok()?;
            (event["fields"]["message"] == "Caravan is listening")
                .then(|| event["fields"]["port"].as_u64())?
        })
        .expect("the server reports its port");
    let health = std::net::TcpStream::connect(("127.0.0.1", port as u16));
    assert!(health.is_ok(), "the server accepts connections");
    assert!(
        Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = server.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "{rest:?}");
}

#[test]
fn the_validator_subcommand_prints_one_json_verdict() {
    let fixtures = repo_root().join("tests/fixtures");
    let library =
        caravan_inference::resolve_library(None).expect("run scripts/fetch-onnxruntime.sh");
    let run = |model: &str| {
        let output = Command::new(BIN)
            .args([
                "__validate-onnx",
                "--ort-library",
                library.to_str().unwrap(),
            ])
            .args([
                "--memory-limit",
                &(1u64 << 30).to_string(),
                "--cpu-seconds",
                "30",
            ])
            .arg(fixtures.join(model))
            .output()
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let accepted = run("affine.onnx");
    assert_eq!(accepted["accepted"]["signature"]["inputs"][0]["name"], "x");
    let refused = run("zipmap.onnx");
    assert!(
        refused["refused"]
            .as_str()
            .unwrap()
            .contains("sequence of maps")
    );
}
