//! The Acumos model-runner surface (`/acumos/models/{name}/model/methods/{method}`) over an
//! ONNX version: protobuf and JSON messages generated from its signature, answered with what
//! Python onnxruntime computed; its artifacts; and what it refuses.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app};

const PROTOBUF: &str = "application/vnd.google.protobuf";

fn read<T>(path: &str, size: usize, from: impl Fn(&[u8]) -> T) -> Vec<T> {
    std::fs::read(crate::support::fixture_path(path))
        .unwrap()
        .chunks_exact(size)
        .map(from)
        .collect()
}

fn golden() -> (Vec<f32>, Vec<f32>, Vec<i64>) {
    let f32s = |p| read(p, 4, |c| f32::from_le_bytes(c.try_into().unwrap()));
    (
        f32s("cloud-forensics/golden_inputs.f32"),
        f32s("cloud-forensics/golden_probs_small.f32"),
        read("cloud-forensics/golden_labels_small.i64", 8, |c| {
            i64::from_le_bytes(c.try_into().unwrap())
        }),
    )
}

async fn publish_forensics(app: &TestApp, visibility: &str) {
    let metadata = json!({ "visibility": visibility }).to_string();
    app.push_ok(
        &app.admin_token,
        "forensics",
        "cloud-forensics/cloud_forensics_mlp.onnx",
        Some(&metadata),
    )
    .await;
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `PredictIn { repeated float X = 1; }`, packed, written by hand so that the test does not
/// share the server's protobuf library.
fn predict_in(x: &[f32]) -> Vec<u8> {
    let mut out = vec![0x0a];
    varint(x.len() as u64 * 4, &mut out);
    for v in x {
        out.extend(v.to_le_bytes());
    }
    out
}

fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// `PredictOut { repeated int64 label = 1; repeated float probabilities = 2; }`, packed.
fn predict_out(bytes: &[u8]) -> (Vec<i64>, Vec<f32>) {
    let (mut labels, mut probs, mut at) = (Vec::new(), Vec::new(), 0);
    while at < bytes.len() {
        let key = read_varint(bytes, &mut at);
        assert_eq!(key & 7, 2, "packed repeated fields");
        let len = read_varint(bytes, &mut at) as usize;
        let field = &bytes[at..at + len];
        at += len;
        match key >> 3 {
            1 => {
                let mut i = 0;
                while i < field.len() {
                    labels.push(read_varint(field, &mut i) as i64);
                }
            }
            2 => probs.extend(
                field
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
            ),
            other => panic!("unexpected field {other}"),
        }
    }
    (labels, probs)
}

async fn call(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.admin_token)
        .body(body);
    if let Some(c) = content_type {
        request = request.header(header::CONTENT_TYPE, c);
    }
    if let Some(a) = accept {
        request = request.header(header::ACCEPT, a);
    }
    request.send().await.unwrap()
}

pub async fn predict_answers_protobuf_and_json_with_python_onnxruntime_s_outputs(backend: Backend) {
    let app = spawn_app(backend).await;
    publish_forensics(&app, "private").await;
    let (inputs, probs, labels) = golden();
    let path = "/acumos/models/forensics/model/methods/predict";

    let response = call(
        &app,
        path,
        Some(PROTOBUF),
        Some(PROTOBUF),
        predict_in(&inputs),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], PROTOBUF);
    assert_eq!(response.headers()["model-version"], "1");
    let (got_labels, got_probs) = predict_out(&response.bytes().await.unwrap());
    assert_eq!(got_probs, probs, "bit-identical to Python onnxruntime");
    assert_eq!(got_labels, labels);

    // JSON in, with curl's `Accept: */*`: JSON out, int64 as strings as Acumos wrote them.
    let body = serde_json::to_vec(&json!({ "X": inputs })).unwrap();
    let response = call(&app, path, Some("application/json"), Some("*/*"), body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let got: Vec<f32> = answer["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got, probs);
    let want: Vec<Value> = labels.iter().map(|l| json!(l.to_string())).collect();
    assert_eq!(answer["label"], json!(want));

    // By version number and by alias.
    let one_row = serde_json::to_vec(&json!({ "X": inputs[..20] })).unwrap();
    for path in [
        "/acumos/models/forensics/versions/1/model/methods/predict",
        "/acumos/models/forensics/versions/latest/model/methods/predict",
    ] {
        let response = call(&app, path, None, None, one_row.clone()).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

pub async fn the_artifacts_describe_the_generated_interface(backend: Backend) {
    let app = spawn_app(backend).await;
    publish_forensics(&app, "public").await;
    let proto = app
        .get(
            Some(&app.admin_token),
            "/acumos/models/forensics/model/artifacts/protobuf",
        )
        .await;
    assert_eq!(proto.status(), StatusCode::OK);
    let proto = proto.text().await.unwrap();
    for line in [
        "syntax = \"proto3\";",
        "rpc predict (PredictIn) returns (PredictOut);",
        "repeated float X = 1;",
        "repeated int64 label = 1;",
        "repeated float probabilities = 2;",
    ] {
        assert!(proto.contains(line), "{line} in\n{proto}");
    }
    let (status, metadata) = app
        .get_json(
            Some(&app.admin_token),
            "/acumos/models/forensics/model/artifacts/metadata",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["schema"], "acumos.schema.model:0.6.0");
    assert_eq!(metadata["name"], "forensics");
    assert_eq!(metadata["methods"]["predict"]["input"]["name"], "PredictIn");
    let (status, openapi) = app
        .get_json(
            Some(&app.admin_token),
            "/acumos/models/forensics/versions/1/openapi.json",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(openapi["openapi"], "3.0.3");
    let operation = &openapi["paths"]["/acumos/models/forensics/versions/1/model/methods/predict"];
    assert_eq!(operation["post"]["operationId"], "predict");
    assert!(openapi["components"]["schemas"]["PredictIn"]["properties"]["X"].is_object());
    let (status, _) = app
        .get_json(
            Some(&app.admin_token),
            "/acumos/models/forensics/model/artifacts/weights",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn refused(response: reqwest::Response, status: StatusCode, needle: &str) {
    assert_eq!(response.status(), status);
    let ct = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains(needle), "{needle:?} in {body}");
}

pub async fn bad_messages_methods_and_media_types_are_refused_with_a_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    publish_forensics(&app, "private").await;
    let path = "/acumos/models/forensics/model/methods/predict";
    let (inputs, _, _) = golden();
    let json_body = |v: Value| serde_json::to_vec(&v).unwrap();
    for (content_type, body, needle) in [
        (PROTOBUF, vec![0xff, 0xff, 0xff], "not a protobuf PredictIn"),
        // 19 floats: not a whole row of 20.
        (PROTOBUF, predict_in(&inputs[..19]), "multiple of 20"),
        (PROTOBUF, Vec::new(), "missing"),
        ("application/json", json_body(json!({})), "missing"),
        (
            "application/json",
            json_body(json!({"X": [1, 2]})),
            "multiple of 20",
        ),
        (
            "application/json",
            json_body(json!({"X": inputs[..20], "Y": [1]})),
            "Y",
        ),
        (
            "application/json",
            b"{not json".to_vec(),
            "not a JSON PredictIn",
        ),
    ] {
        let response = call(&app, path, Some(content_type), None, body).await;
        refused(response, StatusCode::BAD_REQUEST, needle).await;
    }
    let row = json_body(json!({ "X": inputs[..20] }));
    let unknown = "/acumos/models/forensics/model/methods/classify";
    refused(
        call(&app, unknown, None, None, row.clone()).await,
        StatusCode::NOT_FOUND,
        "predict",
    )
    .await;
    refused(
        call(&app, path, Some("text/csv"), None, row.clone()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "application/json",
    )
    .await;
    refused(
        call(&app, path, None, Some("text/html"), row.clone()).await,
        StatusCode::NOT_ACCEPTABLE,
        "application/json",
    )
    .await;
    // Credentials as on V2: none is 401; another user does not see a private model.
    let anonymous = app
        .client
        .post(app.url(path))
        .body(row.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let stranger = app.user("stranger").await;
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&stranger)
        .body(row.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let missing = "/acumos/models/forensics/versions/9/model/methods/predict";
    assert_eq!(
        call(&app, missing, None, None, row).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// The generated .proto compiled by protoc (grpcio-tools) into Python classes that call the
/// method with protobuf and JSON and get Python onnxruntime's probabilities.
pub async fn protoc_compiles_the_generated_proto_and_its_classes_get_the_golden_outputs(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    publish_forensics(&app, "private").await;
    let python = std::env::var("CARAVAN_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{}/../.venv/tests/bin/python", env!("CARGO_MANIFEST_DIR")));
    assert!(
        std::path::Path::new(&python).is_file(),
        "{python} is missing: scripts/test.sh installs grpcio-tools there"
    );
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/serving/acumos_protoc_check.py"
    );
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(app.url("/acumos/models/forensics"))
        .arg(&app.admin_token)
        .arg(crate::support::fixture_path("cloud-forensics"))
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.lines().any(|l| l == "ok"), "{stdout}");
}
