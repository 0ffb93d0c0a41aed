//! The real MLflow Python clients (mlflow-skinny 3.17.2 and 2.22.5, in `.venv/mlflow-3` and
//! `.venv/mlflow-2`, installed by scripts/test.sh from tests/mlflow/) use Caravan's Model
//! Registry surface: create, get, alias, search with the client's own default filter, paging,
//! download URI, update, delete; and the refusals the client branches on.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app};

fn mlflow_python(major: u32) -> String {
    let var = format!("CARAVAN_TEST_MLFLOW{major}_PYTHON");
    let python = std::env::var(&var).unwrap_or_else(|_| {
        format!(
            "{}/../.venv/mlflow-{major}/bin/python",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    assert!(
        std::path::Path::new(&python).is_file(),
        "{python} is missing: scripts/test.sh installs MLflow {major} there"
    );
    python
}

pub async fn run_script(
    major: u32,
    script: &str,
    app: &TestApp,
    model: &str,
    env: &[(&str, &str)],
) -> Value {
    let home = tempfile::tempdir().unwrap();
    let script = format!("{}/api/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new(mlflow_python(major))
        .arg(script)
        .arg(&app.base)
        .arg(model)
        .stdin(std::process::Stdio::null())
        .env("HOME", home.path())
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACKING_USERNAME")
        .env_remove("MLFLOW_TRACKING_PASSWORD")
        // Fail fast instead of retrying a 5xx for minutes.
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The JSON is the last line (MLflow prints links to runs before it).
    let last = stdout.trim().lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn two_versions(app: &TestApp, token: &str, model: &str) {
    app.push_ok(token, model, "affine.onnx", None).await;
    app.push_ok(token, model, "affine_v2.onnx", None).await;
}

pub async fn the_mlflow_clients_register_alias_search_and_delete(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.user("alice").await;
    let token = app
        .api_token(&session, &["read", "publish", "deploy"])
        .await;
    for (major, model) in [(3, "fraud"), (2, "churn")] {
        two_versions(&app, &token, model).await;
        let basic = [
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", token.as_str()),
        ];
        let bearer = [("MLFLOW_TRACKING_TOKEN", token.as_str())];
        let credentials: &[(&str, &str)] = if major == 3 { &bearer } else { &basic };
        let out = run_script(major, "mlflow_registry.py", &app, model, credentials).await;
        let empty = format!("{model}-empty");
        assert_eq!(out["created"], empty, "{out}");
        assert_eq!(out["duplicate"], "RESOURCE_ALREADY_EXISTS");
        assert_eq!(out["created_tags"], json!({"team": "risk"}));
        assert_eq!(out["tagged_search"], json!([model]));
        assert_eq!(out["tagged_versions"], json!(["1"]));
        assert_eq!(out["version_tags"], json!({"validated": "yes"}));
        assert_eq!(out["tag_deleted"], json!({}));
        assert_eq!(out["delete_missing_tag"], "RESOURCE_DOES_NOT_EXIST");
        // The tags are Caravan properties, in its own API.
        let (_, details) = app
            .get_json(Some(&token), &format!("/api/v1/models/{model}"))
            .await;
        assert_eq!(
            details["properties"],
            json!({"owner team": format!("{model}-ops")}),
            "{details}"
        );
        let (_, v1) = app
            .get_json(Some(&token), &format!("/api/v1/models/{model}/versions/1"))
            .await;
        assert_eq!(v1["properties"], json!({"validated": "yes"}));
        assert_eq!(out["empty_versions"], json!([]));
        assert_eq!(out["latest"], json!(["2"]));
        assert_eq!(out["alias"], json!(["1", "READY", ["champion"]]));
        assert_eq!(out["model_aliases"], json!({"champion": "1"}));
        let search = out["search"].as_array().unwrap();
        assert!(
            search.contains(&json!(model)) && search.contains(&json!(empty)),
            "{out}"
        );
        assert_eq!(
            out["page"],
            json!([[empty], true]),
            "name DESC, one per page"
        );
        assert_eq!(out["next_page"], json!([model]));
        assert_eq!(out["bad_filter"], "INVALID_PARAMETER_VALUE");
        assert_eq!(out["versions"], json!(["1", "2"]));
        assert_eq!(out["version_status"], "READY");
        let uri = out["download_uri"].as_str().unwrap();
        assert_eq!(
            uri,
            app.url(&format!("/api/v1/models/{model}/versions/2/artifact"))
        );
        // (Version 2 is deleted by the end of the script; the URI is what a download fetches.)
        let v1 = uri.replace("/versions/2/", "/versions/1/");
        let download = app
            .client
            .get(&v1)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), StatusCode::OK);
        assert_eq!(out["latest_versions"], json!(["2"]));
        assert_eq!(out["missing"], "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(out["missing_version"], "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(out["create_version"], "INVALID_PARAMETER_VALUE");
        assert_eq!(out["description"], "updated by mlflow");
        assert_eq!(out["version_description"], "the first one");
        assert_eq!(out["version_description_read"], "the first one");
        assert_eq!(out["version_description_long"], "INVALID_PARAMETER_VALUE");
        let (_, v1) = app
            .get_json(Some(&token), &format!("/api/v1/models/{model}/versions/1"))
            .await;
        assert_eq!(
            v1["description"], "the first one",
            "Caravan's own API shows it"
        );
        assert_eq!(out["delete_aliased"], "INVALID_STATE");
        assert_eq!(out["alias_gone"], "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(out["after_delete"], json!(["1"]));
        assert_eq!(out["renamed"], format!("{empty}-renamed"), "{out}");
        assert_eq!(out["renamed_description"], "registered by mlflow");
        assert_eq!(out["old_name_gone"], "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(out["rename_taken"], "RESOURCE_ALREADY_EXISTS");
        assert_eq!(out["rename_missing"], "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(out["moved_versions"], json!(["1"]));
        assert_eq!(out["moved_version_status"], "READY");
        assert_eq!(out["empty_gone"], "RESOURCE_DOES_NOT_EXIST");
    }
    // What the client did is Caravan's own state.
    let (_, fraud) = app.get_json(Some(&token), "/api/v1/models/fraud").await;
    assert_eq!(fraud["description"], "updated by mlflow");
    assert_eq!(fraud["versions"].as_array().unwrap().len(), 1);

    let reader = app.api_token(&session, &["read"]).await;
    let out = run_script(
        3,
        "mlflow_readonly.py",
        &app,
        "fraud",
        &[("MLFLOW_TRACKING_TOKEN", &reader)],
    )
    .await;
    assert_eq!(out, json!({"read": "fraud", "write": "PERMISSION_DENIED"}));
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method, app.url(&format!("/api/2.0/mlflow/{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn mlflow_requests_outside_the_protocol_get_mlflow_errors_never_a_5xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    two_versions(&app, &token, "fraud").await;
    use reqwest::Method;
    let cases = [
        (
            Method::POST,
            "registered-models/alias",
            Some(json!({"name": "fraud", "alias": "champion", "version": 1})),
            400,
            "INVALID_PARAMETER_VALUE",
            "must be a string",
        ),
        (
            Method::POST,
            "registered-models/alias",
            Some(json!({"name": "fraud", "alias": "Champion!", "version": "1"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "alias",
        ),
        (
            Method::POST,
            "registered-models/create",
            Some(json!({"name": "Has Spaces"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "",
        ),
        (
            Method::POST,
            "registered-models/create",
            Some(json!({"name": "tagged", "tags": "k=v"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "tags",
        ),
        (
            Method::POST,
            "registered-models/create",
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            "name",
        ),
        (
            Method::POST,
            "registered-models/rename",
            Some(json!({"name": "fraud", "new_name": "no spaces/or slashes"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "name",
        ),
        (
            Method::POST,
            "registered-models/rename",
            Some(json!({"name": "fraud", "new_name": "peer:fraud"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "reserved",
        ),
        (
            Method::POST,
            "registered-models/rename",
            Some(json!({"name": "fraud"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "new_name",
        ),
        (
            Method::GET,
            "model-versions/get?name=fraud&version=abc",
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            "version",
        ),
        (
            Method::GET,
            "registered-models/search?filter=name%20%3D%20fraud",
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            "quoted",
        ),
        (
            Method::GET,
            "registered-models/search?max_results=5000",
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            "max_results",
        ),
        (
            Method::GET,
            "registered-models/search?page_token=zzz",
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            "page_token",
        ),
        (
            Method::GET,
            "registered-models/search?order_by=owner%20ASC",
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            "order_by",
        ),
        (
            Method::GET,
            "experiments/list",
            None,
            404,
            "ENDPOINT_NOT_FOUND",
            "",
        ),
    ];
    for (method, path, body, status, code, needle) in cases {
        let (got, answer) = call(&app, method.clone(), path, Some(&token), body.clone()).await;
        assert_eq!(
            (got.as_u16(), answer["error_code"].as_str()),
            (status, Some(code)),
            "{method} {path} {body:?}: {answer}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains(needle),
            "{path}: {answer}"
        );
    }
    // A body that is not JSON, and credentials that are not valid.
    let raw = app
        .client
        .post(app.url("/api/2.0/mlflow/registered-models/create"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let (status, answer) = call(
        &app,
        Method::POST,
        "registered-models/create",
        Some("cvn_not-a-token"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED"))
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "registered-models/create",
        None,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let password = app
        .client
        .get(app.url("/api/2.0/mlflow/registered-models/get?name=fraud"))
        .basic_auth("admin", Some("a-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), StatusCode::UNAUTHORIZED);
    assert!(password.text().await.unwrap().contains("API token"));
    // Malformed credentials: never a 5xx, never a pass.
    for header in [
        "Basic !!!not-base64",
        "Basic",
        "Digest abc",
        "Bearer",
        "Basic YWRtaW4=",
    ] {
        let answer = app
            .client
            .get(app.url("/api/2.0/mlflow/registered-models/get?name=fraud"))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{header}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error_code"], "UNAUTHENTICATED", "{header}");
    }
    // A private model is not found by anonymous callers; the UI's prefix answers the same.
    let (status, answer) = call(
        &app,
        Method::GET,
        "registered-models/get?name=fraud",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let ajax = app
        .client
        .get(app.url("/ajax-api/2.0/mlflow/registered-models/get?name=fraud"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ajax.status(), StatusCode::OK);
    let (_, created) = call(
        &app,
        Method::POST,
        "registered-models/create",
        Some(&token),
        Some(json!({"name": "empty"})),
    )
    .await;
    assert_eq!(
        created["registered_model"]["name"], "empty",
        "a 200 with the model, never a 201"
    );
}

/// A rename reaches serving at once: the new name answers (loaded versions and aliases went
/// with the model), the old one is no model any more, and another user cannot rename it.
pub async fn a_renamed_model_is_served_under_its_new_name_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    two_versions(&app, &token, "fraud").await;
    let request = json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]});
    let before = app.infer_json(Some(&token), "fraud", None, &request).await;
    assert_eq!(before.status(), StatusCode::OK);
    let bob = app.user("bob").await;
    let rename = |who: String, to: &'static str| {
        let app = &app;
        async move {
            let body = json!({"name": "fraud", "new_name": to});
            call(
                app,
                reqwest::Method::POST,
                "registered-models/rename",
                Some(&who),
                Some(body),
            )
            .await
        }
    };
    // Bob does not see the private model; once it is public he sees it but may not rename it.
    let (status, body) = rename(bob.clone(), "stolen").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let public = app
        .send_json(
            reqwest::Method::PATCH,
            &token,
            "/api/v1/models/fraud",
            json!({"visibility": "public"}),
        )
        .await;
    assert_eq!(public.status(), StatusCode::OK);
    let (status, body) = rename(bob, "stolen").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = rename(token.clone(), "fraud-v2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["registered_model"]["name"], "fraud-v2");
    let after = app
        .infer_json(Some(&token), "fraud-v2", None, &request)
        .await;
    assert_eq!(after.status(), StatusCode::OK);
    let old = app.infer_json(Some(&token), "fraud", None, &request).await;
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    let (status, model) = app.get_json(Some(&token), "/api/v1/models/fraud-v2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["versions"].as_array().unwrap().len(), 2);
}
