//! Key/value properties of models and versions through Caravan's own API and pages.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app};

async fn put(app: &TestApp, token: &str, path: &str, value: &str) -> StatusCode {
    app.send_json(reqwest::Method::PUT, token, path, json!({"value": value}))
        .await
        .status()
}

pub async fn properties_are_set_shown_and_deleted_by_those_who_may(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    app.push_ok(
        &token,
        "fraud",
        "affine.onnx",
        Some(r#"{"visibility": "public"}"#),
    )
    .await;
    let base = "/api/v1/models/fraud";
    assert_eq!(
        put(
            &app,
            &token,
            &format!("{base}/properties/team"),
            "<b>risk</b>"
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        put(
            &app,
            &token,
            &format!("{base}/versions/1/properties/stage"),
            "tested"
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let (_, model) = app.get_json(None, base).await;
    assert_eq!(model["properties"], json!({"team": "<b>risk</b>"}));
    assert_eq!(
        model["versions"][0]["properties"],
        json!({"stage": "tested"})
    );
    let (_, version) = app.get_json(None, &format!("{base}/versions/1")).await;
    assert_eq!(version["properties"], json!({"stage": "tested"}));
    let page = app.get(None, "/models/fraud").await.text().await.unwrap();
    assert!(
        page.contains("<dt>team</dt>") && page.contains("&lt;b&gt;risk&lt;&#x2f;b&gt;"),
        "escaped on the page: {}",
        page.lines()
            .filter(|l| l.contains("properties") || l.contains("<dt>"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(page.contains("<dt>stage</dt><dd>tested</dd>"));

    let long_key = "k".repeat(251);
    let too_long = "v".repeat(5001);
    for (path, value, status) in [
        (
            format!("{base}/properties/{long_key}"),
            "x",
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/properties/ok"),
            too_long.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/versions/9/properties/stage"),
            "x",
            StatusCode::NOT_FOUND,
        ),
        (
            format!("{base}/versions/zero/properties/stage"),
            "x",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/models/nothing/properties/k".to_owned(),
            "x",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(put(&app, &token, &path, value).await, status, "{path}");
    }
    let bob = app.user("bob").await;
    assert_eq!(
        put(&app, &bob, &format!("{base}/properties/team"), "mine").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&bob, &format!("{base}/properties/team"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let unknown = app
        .send_json(
            reqwest::Method::PUT,
            &token,
            &format!("{base}/properties/k"),
            json!({"value": "v", "extra": 1}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    assert_eq!(
        app.delete(&token, &format!("{base}/properties/team"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&token, &format!("{base}/properties/team"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, model): (_, Value) = app.get_json(None, base).await;
    assert_eq!(model["properties"], json!({}));
}

pub async fn version_descriptions_are_set_by_those_who_may(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    app.push_ok(
        &token,
        "noted",
        "affine.onnx",
        Some(r#"{"visibility": "public"}"#),
    )
    .await;
    let v1 = "/api/v1/models/noted/versions/1";
    let response = patch(
        &app,
        &token,
        v1,
        json!({"description": "<i>first</i> release"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["description"], "<i>first</i> release");
    let (_, read) = app.get_json(None, v1).await;
    assert_eq!(
        read["description"], "<i>first</i> release",
        "public, read anonymously"
    );

    let bob = app.user("bob").await;
    for (who, path, body, status) in [
        (
            bob.as_str(),
            v1,
            json!({"description": "mine"}),
            StatusCode::FORBIDDEN,
        ),
        (
            &token,
            "/api/v1/models/noted/versions/9",
            json!({"description": "x"}),
            StatusCode::NOT_FOUND,
        ),
        (
            &token,
            v1,
            json!({"description": "x".repeat(5001)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &token,
            v1,
            json!({"description": "a\u{0}b"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &token,
            v1,
            json!({"description": "x", "sha256": "0"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &token,
            v1,
            json!({"description": 7}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &token,
            "/api/v1/models/noted/versions/latest",
            json!({"description": "x"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = patch(&app, who, path, body.clone()).await;
        assert_eq!(response.status(), status, "{path} {body}");
    }
    let (_, read) = app.get_json(None, v1).await;
    assert_eq!(
        read["description"], "<i>first</i> release",
        "refusals changed nothing"
    );
    // The page escapes it (shown where versions are listed).
    let page = app.get(None, "/models/noted").await.text().await.unwrap();
    assert!(
        !page.contains("<i>first</i>"),
        "unescaped description on the page"
    );
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.send_json(reqwest::Method::PATCH, token, path, body)
        .await
}
