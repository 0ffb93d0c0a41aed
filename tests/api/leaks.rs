//! Errors that come from the database or the object store answer generically on every surface:
//! a constraint violation is a plain conflict, a missing blob a plain 500, and no body names a
//! table, an index, a constraint, a server path or what the engine said.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    support::{ADMIN_PASSWORD, Backend, TestApp, spawn_app},
    ui_client::UiClient,
};

/// Runs SQL against the app's own database (as an operator could), to set up what the
/// application itself never would.
async fn execute(app: &TestApp, backend: Backend, sql: &str) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    }
}

/// Words that would show the database's, the store's or the engine's own text.
const INTERNAL: &[&str] = &[
    "only_one_comment",
    "comments",
    "UNIQUE",
    "duplicate key",
    "constraint",
    "sqlx",
    "objects/blobs",
    "No such file",
    "/tmp",
];

fn assert_generic(surface: &str, body: &str) {
    for word in INTERNAL {
        assert!(!body.contains(word), "{surface} shows {word:?}: {body}");
    }
}

pub async fn a_constraint_violation_answers_a_generic_conflict_on_the_api_and_the_ui(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "talked",
        "affine.onnx",
        Some(r#"{"visibility": "public"}"#),
    )
    .await;
    // A constraint the application does not expect: the second comment on a model violates it.
    execute(
        &app,
        backend,
        "CREATE UNIQUE INDEX only_one_comment ON comments (model_id)",
    )
    .await;
    let comment = |body: &str| {
        app.post_json(
            &app.admin_token,
            "/api/v1/models/talked/comments",
            json!({ "body": body }),
        )
    };
    assert_eq!(comment("first").await.status(), StatusCode::CREATED);
    let refused = comment("second").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "conflict");
    assert_generic("the API", &body.to_string());

    let mut browser = UiClient::new(&app.base);
    browser.sign_in("admin", ADMIN_PASSWORD).await;
    browser.get("/models/talked").await;
    let csrf = browser.csrf.clone();
    let page = browser
        .post(
            "/models/talked/comments",
            &[("csrf", &csrf), ("body", "third")],
        )
        .await;
    assert!(page.status.is_client_error(), "{}", page.status);
    assert!(page.html.contains("<html"), "an HTML page: {}", page.html);
    assert_generic("the UI", &page.html);
}

pub async fn a_missing_blob_answers_a_generic_server_error_on_the_api_and_v2(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "broken",
        "affine.onnx",
        Some(r#"{"visibility": "public"}"#),
    )
    .await;
    for blob in app.stored_blobs() {
        std::fs::remove_file(blob).unwrap();
    }
    let download = app
        .get(
            Some(&app.admin_token),
            "/api/v1/models/broken/versions/1/artifact",
        )
        .await;
    assert_eq!(download.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = download.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": caravan_core::INTERNAL_MESSAGE, "code": "internal"})
    );

    let request = json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                                     "data": [1, 2, 3, 4]}]});
    let infer = app
        .infer_json(Some(&app.admin_token), "broken", None, &request)
        .await;
    assert_eq!(infer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = infer.text().await.unwrap();
    assert_generic("V2", &body);
    assert!(body.contains(caravan_core::INTERNAL_MESSAGE), "{body}");
}
