//! `mlflow.onnx.log_model(..., registered_model_name=...)` end to end with the real MLflow
//! clients (3.17.2 and 2.22.5): the run, its params and metrics, the artifact upload through
//! the proxy, the logged model (3.x) and the registration, after which the version answers V2
//! inference and its lineage is the run. Then every refusal on the way, by plain HTTP.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::mlflow_client::run_script;
use crate::support::{Backend, TestApp, spawn_app};

const MLMODEL_SKLEARN: &str = "flavors:\n  python_function: {loader_module: mlflow.sklearn}\n  sklearn: {pickled_model: model.pkl}\n";
const MLMODEL_ONNX: &str =
    "flavors:\n  onnx: {data: model.onnx}\n  python_function: {loader_module: mlflow.onnx}\n";

async fn infer(app: &TestApp, token: &str, model: &str, x: &[f32; 4]) -> Vec<f64> {
    let response = app
        .client
        .post(app.url(&format!("/v2/models/{model}/infer")))
        .bearer_auth(token)
        .json(&json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": x}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

pub async fn mlflow_log_model_registers_a_served_version_whose_lineage_is_the_run(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let session = app.user("alice").await;
    let token = app.api_token(&session, &["read", "publish"]).await;
    // MLflow 2 logs a model whose weights (4 x 300 floats) go to an external data file.
    // The second MLflow 3 run sends files of 1 KiB and more in 1 KiB parts (mpu/*).
    for (major, model, experiment, width, multipart) in [
        (3, "logged-three", "fraud-training", "3", false),
        (3, "logged-parts", "fraud-training", "300", true),
        (2, "logged-two", "", "300", false),
    ] {
        let basic = [
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", token.as_str()),
        ];
        let bearer = [("MLFLOW_TRACKING_TOKEN", token.as_str())];
        let mut env: Vec<(&str, &str)> = if major == 3 {
            bearer.to_vec()
        } else {
            basic.to_vec()
        };
        env.push(("CARAVAN_TEST_EXPERIMENT", experiment));
        env.push(("CARAVAN_TEST_WIDTH", width));
        if multipart {
            env.extend([
                ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true"),
                ("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1024"),
                ("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "1024"),
            ]);
        }
        let out = run_script(major, "mlflow_log_model.py", &app, model, &env).await;
        assert_eq!(out["version"], "1", "{}", out["files"]);
        assert_eq!(out["status"], "READY");
        let files: Vec<&str> = out["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            files.contains(&"MLmodel") && files.contains(&"model.onnx"),
            "{files:?}"
        );
        let external = files.iter().any(|f| f.ends_with(".data"));
        assert_eq!(external, width == "300", "an external data file: {files:?}");
        assert_eq!(out["version_run_id"], out["run_id"]);
        assert_eq!(out["run_status"], "FINISHED");
        assert_eq!(out["loaded_weights_match"], true, "load_model(models:/...)");
        assert_eq!(out["param_count"], 152);
        // MLflow 2 records the model in the run (runs/log-model); MLflow 3 logs a logged model.
        assert_eq!(out["history"], if major == 2 { 1 } else { 0 }, "{out}");
        assert_eq!(
            out["loss_history"],
            json!([0.9, 0.5, 0.25]),
            "no duplicates from log_model"
        );
        assert_eq!(
            out["again"],
            json!(["1", "READY", out["run_id"]]),
            "runs:/ registration"
        );
        let (_, again) = app
            .get_json(Some(&token), &format!("/api/v1/models/{model}-again"))
            .await;
        assert_eq!(
            again["versions"].as_array().map(Vec::len),
            Some(1),
            "{again}"
        );
        assert_eq!(
            out["params"],
            json!({"learning_rate": "0.01", "epochs": "5"})
        );
        assert_eq!(out["metrics"], json!({"loss": 0.25, "accuracy": 0.93}));
        if major == 3 {
            assert_ne!(
                out["experiment_id"], "0",
                "set_experiment created one: {out}"
            );
        } else {
            assert_eq!(out["experiment_id"], "0", "the Default experiment: {out}");
        }

        // Served by ONNX Runtime: y = x @ W + b.
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let w = out["weights"].as_array().unwrap();
        let b = out["bias"].as_array().unwrap();
        let expected: Vec<f64> = (0..b.len())
            .map(|j| {
                let dot: f64 = (0..4)
                    .map(|i| f64::from(x[i]) * w[i][j].as_f64().unwrap())
                    .sum();
                dot + b[j].as_f64().unwrap()
            })
            .collect();
        let got = infer(&app, &token, model, &x).await;
        assert_eq!(got.len(), width.parse::<usize>().unwrap());
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-4, "{got:?} vs {expected:?}");
        }

        // The lineage is the run, its params and each metric's latest value.
        let (status, lineage) = app
            .get_json(
                Some(&token),
                &format!("/api/v1/models/{model}/versions/1/lineage"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{lineage}");
        assert_eq!(lineage["origin"], "mlflow");
        assert_eq!(
            lineage["run_id"].as_str().unwrap().replace('-', ""),
            out["run_id"].as_str().unwrap()
        );
        let params = lineage["params"].as_object().unwrap();
        assert_eq!(params.len(), 152);
        assert_eq!(
            (&params["learning_rate"], &params["epochs"]),
            (&json!("0.01"), &json!("5"))
        );
        assert_eq!(params["feature_149"], "149");
        // MLflow's signature, as the client logged it.
        assert!(
            out["signature"]["inputs"].is_string(),
            "{}",
            out["signature"]
        );
        for part in ["inputs", "outputs"] {
            assert_eq!(lineage["signature"][part], out["signature"][part]);
        }
        assert_eq!(lineage["metrics"], json!({"loss": 0.25, "accuracy": 0.93}));
        assert_eq!(lineage["source"], out["source"]);
        assert_eq!(lineage["experiment_id"], out["experiment_id"]);
    }

    // The multipart run's data file went up in parts, through mpu/create, parts and complete,
    // and no part is left behind.
    let metrics = app.metrics_text().await;
    for route in [
        "mpu/create/{path:.*}",
        "mpu/parts/{id}/{n}",
        "mpu/complete/{path:.*}",
    ] {
        let line = metrics
            .lines()
            .find(|l| l.contains(route) && l.contains("status=\"200\""))
            .unwrap_or_else(|| panic!("no {route} requests: {metrics}"));
        assert!(!line.ends_with(" 0"), "{line}");
    }
    // The multipart uploads left only their closed markers (swept by age), no parts.
    let left = files_under(&app.data_dir.join("objects/mlflow-mpu"));
    assert!(!left.is_empty(), "the client sent no multipart upload");
    assert!(
        left.iter().all(|name| name == "closed"),
        "parts left: {left:?}"
    );

    // Another user sees neither the run nor its artifacts, and cannot write into them.
    let bob = app.user("bob").await;
    let bob_token = app.api_token(&bob, &["read", "publish"]).await;
    let (status, runs) = app
        .get_json(
            Some(&bob_token),
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name=fraud-training",
        )
        .await;
    assert_eq!(
        (status, &runs["error_code"]),
        (StatusCode::NOT_FOUND, &json!("RESOURCE_DOES_NOT_EXIST"))
    );
    // Experiment names are one namespace: taking alice's is refused, and says why.
    let taken = app
        .post_json(
            &bob_token,
            "/api/2.0/mlflow/experiments/create",
            json!({"name": "fraud-training"}),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(taken["error_code"], "RESOURCE_ALREADY_EXISTS");
    assert!(
        taken["message"]
            .as_str()
            .unwrap()
            .contains("choose another"),
        "{taken}"
    );
}

/// How many files are below `dir` (none when it does not exist).
/// The files under `dir` (and below), by name; `dir` must exist.
pub(crate) fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    found
}

/// A run of alice's in the Default experiment, over plain HTTP.
pub(crate) async fn run_of(app: &TestApp, token: &str) -> String {
    let response = app
        .post_json(
            token,
            "/api/2.0/mlflow/runs/create",
            json!({"experiment_id": "0"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["run"]["info"]["run_id"].as_str().unwrap().to_owned()
}

async fn put(app: &TestApp, token: &str, path: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/2.0/mlflow-artifacts/artifacts/{path}")))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn create_version(
    app: &TestApp,
    token: &str,
    model: &str,
    source: &str,
) -> (StatusCode, Value) {
    let response = app
        .post_json(
            token,
            "/api/2.0/mlflow/model-versions/create",
            json!({"name": model, "source": source}),
        )
        .await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub async fn mlflow_sources_caravan_does_not_hold_or_cannot_serve_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.user("alice").await;
    let token = app.api_token(&session, &["read", "publish"]).await;
    let response = app
        .post_json(
            &token,
            "/api/2.0/mlflow/registered-models/create",
            json!({"name": "target"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let run = run_of(&app, &token).await;
    let dir = format!("0/{run}/artifacts");

    // A model logged with another flavor is refused by name.
    assert_eq!(
        put(
            &app,
            &token,
            &format!("{dir}/skl/MLmodel"),
            MLMODEL_SKLEARN.into()
        )
        .await
        .status(),
        StatusCode::OK
    );
    let (status, body) = create_version(&app, &token, "target", &format!("runs:/{run}/skl")).await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::BAD_REQUEST, &json!("INVALID_PARAMETER_VALUE"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("'sklearn'"),
        "{body}"
    );

    // An ONNX flavor whose file is missing, or whose bytes are not a model.
    assert_eq!(
        put(
            &app,
            &token,
            &format!("{dir}/broken/MLmodel"),
            MLMODEL_ONNX.into()
        )
        .await
        .status(),
        StatusCode::OK
    );
    let (status, body) = create_version(
        &app,
        &token,
        "target",
        &format!("mlflow-artifacts:/{dir}/broken"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not in the model directory"),
        "{body}"
    );
    assert_eq!(
        put(
            &app,
            &token,
            &format!("{dir}/broken/model.onnx"),
            b"not a model".to_vec()
        )
        .await
        .status(),
        StatusCode::OK
    );
    let (status, body) = create_version(
        &app,
        &token,
        "target",
        &format!("mlflow-artifacts:/{dir}/broken"),
    )
    .await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::BAD_REQUEST, &json!("INVALID_PARAMETER_VALUE")),
        "{body}"
    );
    // No MLmodel at all.
    let (status, body) =
        create_version(&app, &token, "target", &format!("runs:/{run}/nothing-here")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("no MLmodel"),
        "{body}"
    );

    // External data outside the model directory, missing, or where Caravan does not inline it
    // (sparse tensors, attributes, subgraphs): refused, nothing registered.
    for location in ["../../../../etc/passwd", "/etc/passwd", "missing.data"] {
        for (form, bytes) in caravan_tests::hostile::external_data_models(location) {
            assert_eq!(
                put(&app, &token, &format!("{dir}/broken/model.onnx"), bytes)
                    .await
                    .status(),
                StatusCode::OK
            );
            let (status, body) =
                create_version(&app, &token, "target", &format!("runs:/{run}/broken")).await;
            assert_eq!(
                (status, &body["error_code"]),
                (StatusCode::BAD_REQUEST, &json!("INVALID_PARAMETER_VALUE")),
                "{location} in {form}: {body}"
            );
            assert!(
                !body["message"].as_str().unwrap().contains("/work"),
                "{body}"
            );
        }
    }

    // Sources outside Caravan's artifacts, or escaping them.
    for source in [
        "s3://bucket/model".to_owned(),
        "file:///etc".to_owned(),
        "/var/lib/caravan".to_owned(),
        format!("mlflow-artifacts:/{dir}/../../x"),
        "mlflow-artifacts:/0/not-a-run/artifacts/m".to_owned(),
        "models:/target".to_owned(),
    ] {
        let (status, body) = create_version(&app, &token, "target", &source).await;
        assert_eq!(
            (status, &body["error_code"]),
            (StatusCode::BAD_REQUEST, &json!("INVALID_PARAMETER_VALUE")),
            "{source}: {body}"
        );
    }
    // A missing registered model.
    let (status, body) = create_version(&app, &token, "nobody", &format!("runs:/{run}/skl")).await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::NOT_FOUND, &json!("RESOURCE_DOES_NOT_EXIST")),
        "{body}"
    );
    let (_, details) = app.get_json(Some(&token), "/api/v1/models/target").await;
    assert_eq!(
        details["versions"],
        json!([]),
        "nothing was registered: {details}"
    );
    assert!(app.stored_blobs().is_empty(), "{:?}", app.stored_blobs());

    // Artifact paths outside a run or logged model; another user's run; a read-only token.
    for path in [
        "0/x/artifacts/f",
        "0/models/other/artifacts/f",
        "../../etc/passwd",
        &format!("1/{run}/artifacts/f"),
    ] {
        let status = put(&app, &token, path, b"x".to_vec()).await.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{path}: {status}"
        );
    }
    let bob = app.user("bob").await;
    let bob_token = app.api_token(&bob, &["read", "publish"]).await;
    let response = put(
        &app,
        &bob_token,
        &format!("{dir}/skl/MLmodel"),
        b"flavors: {}".to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, _) = app
        .get_json(
            Some(&bob_token),
            &format!("/api/2.0/mlflow-artifacts/artifacts/{dir}/skl/MLmodel"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get_json(
            Some(&bob_token),
            &format!("/api/2.0/mlflow/runs/get?run_id={run}"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Bob cannot register from alice's run, nor write its root.
    let bob_model = app
        .post_json(
            &bob_token,
            "/api/2.0/mlflow/registered-models/create",
            json!({"name": "bobs"}),
        )
        .await;
    assert_eq!(bob_model.status(), StatusCode::OK);
    for source in [
        format!("runs:/{run}/skl"),
        format!("mlflow-artifacts:/{dir}/skl"),
    ] {
        let (status, body) = create_version(&app, &bob_token, "bobs", &source).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{source}: {body}");
    }
    assert_eq!(
        put(&app, &token, &dir, b"x".to_vec()).await.status(),
        StatusCode::BAD_REQUEST
    );
    let reader = app.api_token(&session, &["read"]).await;
    let response = put(&app, &reader, &format!("{dir}/skl/other"), b"x".to_vec()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, body) = create_version(&app, &reader, "target", &format!("runs:/{run}/skl")).await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::FORBIDDEN, &json!("PERMISSION_DENIED")),
        "{body}"
    );

    // A file cannot take a directory's path nor sit below a file; names keep their characters.
    for path in [format!("{dir}/skl"), format!("{dir}/skl/MLmodel/below")] {
        let response = put(&app, &token, &path, b"x".to_vec()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(
        put(
            &app,
            &token,
            &format!("{dir}/odd/50%25%20%5Bv1%5D%232.txt"),
            b"x".to_vec()
        )
        .await
        .status(),
        StatusCode::OK
    );
    let (_, odd) = app
        .get_json(
            Some(&token),
            &format!("/api/2.0/mlflow-artifacts/artifacts?path={dir}/odd"),
        )
        .await;
    assert_eq!(odd["files"][0]["path"], "50% [v1]#2.txt", "{odd}");

    // The owner reads and lists what was stored, unchanged.
    let (status, listing) = app
        .get_json(
            Some(&token),
            &format!("/api/2.0/mlflow-artifacts/artifacts?path={dir}/skl"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listing["files"],
        json!([{"path": "MLmodel", "is_dir": false, "file_size": MLMODEL_SKLEARN.len()}])
    );
    let got = app
        .get(
            Some(&token),
            &format!("/api/2.0/mlflow-artifacts/artifacts/{dir}/skl/MLmodel"),
        )
        .await;
    assert_eq!(got.text().await.unwrap(), MLMODEL_SKLEARN);

    // Params are immutable; bad metrics and statuses are refused.
    let log = |body: Value| app.post_json(&token, "/api/2.0/mlflow/runs/log-batch", body);
    assert_eq!(
        log(json!({"run_id": run, "params": [{"key": "lr", "value": "0.1"}]}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        log(json!({"run_id": run, "params": [{"key": "lr", "value": "0.1"}]}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        log(json!({"run_id": run, "params": [{"key": "lr", "value": "0.2"}]}))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        log(json!({"run_id": run, "metrics": [{"key": "m", "value": "many"}]}))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let nul = log(json!({"run_id": run, "params": [{"key": "nul", "value": "a\u{0}b"}]})).await;
    assert_eq!(
        nul.status(),
        StatusCode::BAD_REQUEST,
        "NUL in a value, on both backends"
    );
    assert_eq!(log(json!({"run_id": run, "metrics": [{"key": "m", "value": "NaN", "timestamp": 1, "step": 0}]})).await.status(), StatusCode::OK);
    let response = app
        .post_json(
            &token,
            "/api/2.0/mlflow/runs/update",
            json!({"run_id": run, "status": "DONE"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (_, fetched) = app
        .get_json(
            Some(&token),
            &format!("/api/2.0/mlflow/runs/get?run_id={run}"),
        )
        .await;
    assert_eq!(
        fetched["run"]["data"]["params"],
        json!([{"key": "lr", "value": "0.1"}])
    );
    assert_eq!(fetched["run"]["data"]["metrics"][0]["value"], "NaN");

    // An MLmodel over 1 MiB is refused unread.
    let mut big = MLMODEL_ONNX.as_bytes().to_vec();
    big.extend(std::iter::repeat_n(b'#', 1 << 20));
    assert_eq!(
        put(&app, &token, &format!("{dir}/big/MLmodel"), big)
            .await
            .status(),
        StatusCode::OK
    );
    let (status, body) = create_version(&app, &token, "target", &format!("runs:/{run}/big")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("1 MiB"),
        "{body}"
    );

    // External data past the end of its file is refused; the whole of it is inlined.
    let (_, model) = caravan_tests::hostile::external_data_models("w.data").remove(0);
    let ext = format!("{dir}/ext");
    for (file, bytes) in [
        ("MLmodel", MLMODEL_ONNX.as_bytes().to_vec()),
        ("model.onnx", model),
    ] {
        assert_eq!(
            put(&app, &token, &format!("{ext}/{file}"), bytes)
                .await
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        put(&app, &token, &format!("{ext}/w.data"), vec![0; 8])
            .await
            .status(),
        StatusCode::OK
    );
    let (status, body) = create_version(&app, &token, "target", &format!("runs:/{run}/ext")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("past the end"),
        "{body}"
    );
    let floats: Vec<u8> = [1.5f32, -2.0, 3.25, 0.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    assert_eq!(
        put(&app, &token, &format!("{ext}/w.data"), floats)
            .await
            .status(),
        StatusCode::OK
    );
    let (status, body) = create_version(&app, &token, "target", &format!("runs:/{run}/ext")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model_version"]["status"], "READY");
    assert_eq!(body["model_version"]["run_id"], run.as_str());

    // Only the directory's owner reads it, even once the version is public: the owner may still
    // change its files, so everyone else downloads the version's validated copy.
    let model_onnx = format!("/api/2.0/mlflow-artifacts/artifacts/{ext}/model.onnx");
    let public = app
        .send_json(
            reqwest::Method::PATCH,
            &token,
            "/api/v1/models/target",
            json!({"visibility": "public"}),
        )
        .await;
    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(
        app.get(Some(&bob_token), &model_onnx).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, _) = app
        .get_json(
            Some(&bob_token),
            &format!("/api/2.0/mlflow-artifacts/artifacts?path={ext}"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let write = put(
        &app,
        &bob_token,
        &format!("{ext}/model.onnx"),
        b"x".to_vec(),
    )
    .await;
    assert_eq!(write.status(), StatusCode::NOT_FOUND);
    let download_uri = "/api/2.0/mlflow/model-versions/get-download-uri?name=target&version=1";
    let (_, uri) = app.get_json(Some(&token), download_uri).await;
    assert_eq!(uri["artifact_uri"], format!("mlflow-artifacts:/{ext}"));
    for caller in [Some(bob_token.as_str()), None] {
        let (status, uri) = app.get_json(caller, download_uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let uri = uri["artifact_uri"].as_str().unwrap().to_owned();
        assert!(
            uri.ends_with("/api/v1/models/target/versions/1/artifact"),
            "{uri}"
        );
    }
    // The owner replaces the file after registering: the version's copy does not change.
    let (_, version) = app
        .get_json(Some(&bob_token), "/api/v1/models/target/versions/1")
        .await;
    assert_eq!(
        put(
            &app,
            &token,
            &format!("{ext}/model.onnx"),
            b"swapped".to_vec()
        )
        .await
        .status(),
        StatusCode::OK
    );
    let copy = app
        .get(
            Some(&bob_token),
            "/api/v1/models/target/versions/1/artifact",
        )
        .await;
    assert_eq!(copy.status(), StatusCode::OK);
    let copy = copy.bytes().await.unwrap();
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&copy)),
        version["sha256"].as_str().unwrap()
    );
    assert_ne!(&copy[..], b"swapped");
    // A copy bob registers from that version does not download as alice's directory either.
    let (status, body) = create_version(&app, &bob_token, "bobs", "models:/target/1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bobs_version = body["model_version"]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, uri) = app
        .get_json(
            Some(&bob_token),
            &format!(
                "/api/2.0/mlflow/model-versions/get-download-uri?name=bobs&version={bobs_version}"
            ),
        )
        .await;
    assert!(
        uri["artifact_uri"].as_str().unwrap().ends_with(&format!(
            "/api/v1/models/bobs/versions/{bobs_version}/artifact"
        )),
        "{uri}"
    );
}
