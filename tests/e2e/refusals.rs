//! What a browser must refuse or neutralise: hostile user content and a file ONNX Runtime
//! rejects.

use serde_json::json;

use crate::support::{ADMIN_PASSWORD, Backend, browser::Browser, spawn_app};

pub async fn scripts_in_user_content_never_run_in_the_browser(backend: Backend) {
    let app = spawn_app(backend).await;
    let metadata = json!({
        "visibility": "public",
        "description": "<script>alert('description')</script>",
        "card": "<img src=x onerror=alert('card')>\n\n<script>alert('card')</script>",
    });
    app.push_ok(
        &app.admin_token,
        "hostile",
        "affine.onnx",
        Some(&metadata.to_string()),
    )
    .await;
    app.post_json(
        &app.admin_token,
        "/api/v1/models/hostile/comments",
        json!({ "body": "<img src=x onerror=alert('comment')>" }),
    )
    .await;
    let browser = Browser::launch(&app.base).await;
    for path in ["/?q=hostile", "/models/hostile"] {
        browser.goto(path).await;
        browser.wait_for("footer").await;
        let alert = browser.get_alert_text().await;
        assert!(alert.is_err(), "{path} opened an alert: {alert:?}");
    }
    let text = browser.wait_for_text("#comment-list", "onerror").await;
    assert!(
        text.contains("<img src=x onerror=alert('comment')>"),
        "shown as text: {text}"
    );
    browser.close().await;
}

pub async fn an_upload_refused_by_validation_shows_why_next_to_the_file_and_stores_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("model.onnx");
    std::fs::write(&fake, b"this is a text file, not a model").unwrap();
    let browser = Browser::launch(&app.base).await;
    browser.goto("/login").await;
    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.click("#sign-in").await;
    browser.goto("/upload").await;
    // A bad name is caught next to the name field before anything is sent.
    browser.fill("#name", "Bad Name!").await;
    browser
        .wait_for("#file")
        .await
        .send_keys(fake.to_str().unwrap())
        .await
        .unwrap();
    browser.click("#upload").await;
    browser.wait_for_text("#name-error", "lower-case").await;
    browser.fill("#name", "not-a-model").await;
    browser.click("#upload").await;
    let why = browser.wait_for_text("#file-error", "ONNX").await;
    assert!(!why.is_empty());
    browser
        .screenshot(&format!(
            "upload-refused-{}",
            format!("{backend:?}").to_lowercase()
        ))
        .await;
    browser.close().await;
    let (status, _) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/not-a-model")
        .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    app.assert_nothing_stored().await;
}
