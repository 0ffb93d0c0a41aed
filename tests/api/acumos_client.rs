//! The real Acumos Python client (acumos 1.0.1, Python 3.9, in `.venv/acumos`, installed by
//! scripts/test.sh from tests/acumos/requirements.txt) pushes to Caravan with an API token and
//! with a username and password; the bundle is catalogued with its signature and its
//! `acumos` deployment bundle is produced.

use std::io::Read;

use crate::support::{Backend, TestApp, spawn_app};
use reqwest::StatusCode;

fn acumos_python() -> String {
    let python = std::env::var("CARAVAN_TEST_ACUMOS_PYTHON")
        .unwrap_or_else(|_| format!("{}/../.venv/acumos/bin/python", env!("CARGO_MANIFEST_DIR")));
    assert!(
        std::path::Path::new(&python).is_file(),
        "{python} is missing: scripts/test.sh installs the Acumos client there"
    );
    python
}

async fn push_with_client(app: &TestApp, name: &str, credentials: &[(&str, &str)]) -> String {
    let python = acumos_python();
    let bin = std::path::Path::new(&python).parent().unwrap().to_owned();
    let home = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/api/acumos_client_push.py");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(&app.base)
        .arg(name)
        // Without credentials the client would prompt; with no stdin the prompt fails.
        .stdin(std::process::Stdio::null())
        .env("HOME", home.path())
        .env("PATH", path)
        .env_remove("ACUMOS_TOKEN")
        .env_remove("ACUMOS_USERNAME")
        .env_remove("ACUMOS_PASSWORD")
        .envs(credentials.iter().copied())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

pub async fn the_acumos_python_client_pushes_with_a_token_and_with_a_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.user("alice").await;
    let token = app.api_token(&session, &["read", "publish"]).await;
    let credentials = format!("alice:{token}");
    let out = push_with_client(&app, "client-adder", &[("ACUMOS_TOKEN", &credentials)]).await;
    assert!(
        out.contains("dockerImageUri=acumos-model-client-adder:v1"),
        "{out}"
    );
    // The same function dumped again has a new random protobuf package: another version.
    let out = push_with_client(
        &app,
        "client-adder",
        &[
            ("ACUMOS_USERNAME", "alice"),
            ("ACUMOS_PASSWORD", "alice-password"),
        ],
    )
    .await;
    assert!(out.contains(":v2"), "{out}");

    let (status, model) = app
        .get_json(Some(&token), "/api/v1/models/client-adder")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["license"], "Apache-2.0", "{model}");
    let (_, version) = app
        .get_json(Some(&token), "/api/v1/models/client-adder/versions/1")
        .await;
    assert_eq!(version["format"], "acumos_bundle", "{version}");
    let acumos = &version["acumos"];
    assert_eq!(acumos["schema"], "acumos.schema.model:0.6.0");
    assert_eq!(acumos["methods"][0]["name"], "add");
    assert_eq!(acumos["methods"][0]["input"], "AddIn");
    assert_eq!(acumos["methods"][0]["output"], "AddOut");
    assert_eq!(
        acumos["methods"][0]["description"],
        "Returns the sum of x and y"
    );
    let proto = acumos["proto"].as_str().unwrap();
    assert!(
        proto.contains("rpc add (AddIn) returns (AddOut)"),
        "{proto}"
    );
    assert!(
        acumos["runtime"]
            .as_str()
            .unwrap()
            .starts_with("python 3.9"),
        "{acumos}"
    );

    let files = deployment_files(&app, &token, "client-adder", 1).await;
    let dockerfile = &files["Dockerfile"];
    assert!(
        dockerfile.contains("FROM python:3.9.18-slim-bookworm"),
        "{dockerfile}"
    );
    let sha = version["sha256"].as_str().unwrap();
    assert!(dockerfile.contains(&format!("echo \"{sha}  /tmp/bundle.zip\" | sha256sum -c -")));
    assert!(dockerfile.contains("ENTRYPOINT [\"acumos_model_runner\""));
    let requirements = &files["requirements.txt"];
    assert!(
        requirements.contains("acumos-model-runner==0.2.6"),
        "{requirements}"
    );
    assert!(
        requirements.contains("dill=="),
        "the bundle's own pins: {requirements}"
    );
    assert!(files["README.md"].contains("Caravan does not run this model"));
    // A bundle deploys only to the Acumos runner; ONNX targets are refused with the reason.
    let refused = app
        .get(
            Some(&token),
            "/api/v1/models/client-adder/versions/1/deployment?target=kubernetes",
        )
        .await;
    crate::support::assert_error(
        refused,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "only target is acumos",
    )
    .await;
}

async fn deployment_files(
    app: &TestApp,
    token: &str,
    model: &str,
    version: i64,
) -> std::collections::HashMap<String, String> {
    let response = app
        .get(
            Some(token),
            &format!("/api/v1/models/{model}/versions/{version}/deployment?target=acumos"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut files = std::collections::HashMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let name = path
            .split_once('/')
            .map(|(_, n)| n.to_owned())
            .unwrap_or(path);
        files.insert(name, text);
    }
    files
}
