use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, assert_error, spawn_app};

pub async fn health_readiness_metrics_and_request_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, health) = app.get_json(None, "/healthz").await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));
    let home = app.get(None, "/").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("/api/v1/openapi.json"));
    let (status, ready) = app.get_json(None, "/readyz").await;
    assert_eq!(
        (status, ready),
        (StatusCode::OK, json!({"status": "ready"}))
    );

    app.get(None, "/api/v1/models/nothing-here").await;
    let response = app.get(Some(&app.admin_token), "/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID request id");
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"route="/api/v1/models/{name}""#) && text.contains(r#"status="404""#),
        "metrics carry route templates, not raw paths"
    );
    assert!(!text.contains("nothing-here"));
    assert!(text.contains("caravan_http_request_duration_seconds_bucket"));
}

pub async fn the_openapi_description_lists_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, doc) = app.get_json(None, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/tokens",
        "/api/v1/models",
        "/api/v1/models/{name}",
        "/api/v1/models/{name}/versions",
        "/api/v1/models/{name}/versions/{version}/artifact",
        "/api/v1/models/{name}/aliases/{alias}",
        "/api/v1/uploads/{id}/parts/{n}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v2",
        "/v2/health/ready",
        "/v2/models/{model_name}/infer",
        "/v2/models/{model_name}/versions/{model_version}/infer",
        "/v2/models/{model_name}/versions/{model_version}/stats",
        "/v2/repository/models/{model_name}/unload",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["InferenceRequest"].is_object());
    // The validator passes it, and the generator makes a client call of every operation.
    let python = std::env::var("CARAVAN_TEST_OPENAPI_PYTHON")
        .expect("CARAVAN_TEST_OPENAPI_PYTHON names .venv/openapi's python (scripts/test.sh)");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/check.py");
    let checked = tokio::process::Command::new(python)
        .arg(script)
        .arg(&file)
        .arg(dir.path().join("out"))
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(said.trim(), format!("ok {operations}"));
    assert!(doc["components"]["schemas"]["Version"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

pub async fn unknown_routes_and_methods_answer_json(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_error(
        app.get(None, "/api/v1/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
        "",
    )
    .await;
    let wrong_method = app
        .client
        .put(app.url("/api/v1/models"))
        .send()
        .await
        .unwrap();
    assert!(wrong_method.status().is_client_error());
    let body: Value = wrong_method.json().await.unwrap();
    assert!(
        body["error"].is_string() && body["code"].is_string(),
        "{body}"
    );
}
