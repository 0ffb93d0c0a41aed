//! Who may run, load and unload models.

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    golden::publish,
    support::{Backend, assert_error, spawn_app, spawn_app_with},
};

fn request() -> serde_json::Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}] })
}

pub async fn inference_needs_credentials_unless_anonymous_serving_is_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "affine.onnx").await;
    let anonymous = app.infer_json(None, &model, None, &request()).await;
    assert_error(
        anonymous,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "credentials",
    )
    .await;
    let reader = app.api_token(&app.admin_token, &["read"]).await;
    assert_eq!(
        app.infer_json(Some(&reader), &model, None, &request())
            .await
            .status(),
        StatusCode::OK
    );
    let publish_only = app.api_token(&app.admin_token, &["publish"]).await;
    let refused = app
        .infer_json(Some(&publish_only), &model, None, &request())
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden", "'read'").await;

    let open = spawn_app_with(backend, |s| s.serving.anonymous = true).await;
    let public = publish(&open, "affine.onnx").await;
    open.push_ok(&open.admin_token, "private-affine", "affine.onnx", None)
        .await;
    assert_eq!(
        open.infer_json(None, &public, None, &request())
            .await
            .status(),
        StatusCode::OK
    );
    let private = open
        .infer_json(None, "private-affine", None, &request())
        .await;
    assert_error(
        private,
        StatusCode::NOT_FOUND,
        "not_found",
        "private-affine",
    )
    .await;
}

pub async fn load_and_unload_need_the_deploy_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "affine.onnx").await;
    let reader = app.api_token(&app.admin_token, &["read"]).await;
    for action in ["load", "unload"] {
        let path = format!("/v2/repository/models/{model}/{action}");
        let refused = app.post_json(&reader, &path, json!({})).await;
        assert_error(refused, StatusCode::FORBIDDEN, "forbidden", "'deploy'").await;
        let anonymous = app.client.post(app.url(&path)).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }
    let alice = app.user("alice").await;
    let not_owner = app
        .post_json(
            &alice,
            &format!("/v2/repository/models/{model}/load"),
            json!({}),
        )
        .await;
    assert_error(not_owner, StatusCode::FORBIDDEN, "forbidden", "owner").await;
    let deployer = app
        .api_token(&app.admin_token, &["read", "deploy", "admin"])
        .await;
    let loaded = app
        .post_json(
            &deployer,
            &format!("/v2/repository/models/{model}/load"),
            json!({}),
        )
        .await;
    assert_eq!(loaded.status(), StatusCode::OK);
}

pub async fn an_alias_of_a_model_the_caller_cannot_read_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.push_ok(&alice, "alices", "affine.onnx", None).await;
    let set = app
        .set_alias(&alice, "alices", "champion", json!({"version": 1}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    for version in [Some("champion"), Some("1"), None] {
        let response = app
            .infer_json(Some(&bob), "alices", version, &request())
            .await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found", "alices").await;
    }
    assert_eq!(
        app.infer_json(Some(&alice), "alices", Some("champion"), &request())
            .await
            .status(),
        StatusCode::OK
    );
}
