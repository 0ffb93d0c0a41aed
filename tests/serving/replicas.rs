//! Two replicas on one PostgreSQL database: what one changes, the other serves at once
//! (LISTEN/NOTIFY), well inside the caches' lifetimes (the model cache's 1 s, the
//! credential cache's 5 s) that were all there was before.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app, spawn_app_with};

async fn replica_of(first: &TestApp) -> TestApp {
    let (data_dir, database) = (first.data_dir.clone(), first.database_url.clone());
    spawn_app_with(Backend::Postgres, move |s| {
        s.data_dir = data_dir;
        s.database.url = database.into();
    })
    .await
}

async fn champion_version(app: &TestApp, token: &str) -> String {
    let body = json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 1, 1, 1]}] });
    let response = app
        .infer_json(Some(token), "fraud", Some("champion"), &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    answer["model_version"].as_str().unwrap().to_owned()
}

/// Asks until `done` (each question is a request, which paces the loop); how long it took
/// (at most `within`, else the test fails).
async fn time_until<F: std::future::Future<Output = bool>>(
    within: Duration,
    mut done: impl FnMut() -> F,
) -> Duration {
    let started = Instant::now();
    loop {
        if done().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "not seen within {within:?}");
    }
}

pub async fn an_alias_moved_on_one_replica_is_served_by_the_other_at_once() {
    let a = spawn_app(Backend::Postgres).await;
    a.push_ok(&a.admin_token, "fraud", "affine.onnx", None)
        .await;
    a.push_ok(&a.admin_token, "fraud", "affine_v2.onnx", None)
        .await;
    a.set_alias(&a.admin_token, "fraud", "champion", json!({"version": 1}))
        .await;
    let b = replica_of(&a).await;
    let token = b.admin_token.clone();
    assert_eq!(champion_version(&b, &token).await, "1");
    // Without the announcement B would keep its cached view for up to a second; five moves
    // each seen in under half of that would happen by chance once in 32 runs.
    for (i, target) in [2, 1, 2, 1, 2].into_iter().enumerate() {
        assert_eq!(
            champion_version(&b, &token).await,
            if target == 2 { "1" } else { "2" }
        );
        let moved = a
            .set_alias(
                &a.admin_token,
                "fraud",
                "champion",
                json!({"version": target}),
            )
            .await;
        assert!(moved.status().is_success());
        let want = target.to_string();
        let took = time_until(Duration::from_secs(5), || {
            let (b, token, want) = (&b, &token, &want);
            async move { champion_version(b, token).await == *want }
        })
        .await;
        assert!(
            took < Duration::from_millis(500),
            "move {i} reached B after {took:?}"
        );
    }
}

pub async fn a_token_revoked_on_one_replica_is_refused_by_the_other_at_once() {
    let a = spawn_app(Backend::Postgres).await;
    let b = replica_of(&a).await;
    let created = a
        .post_json(
            &a.admin_token,
            "/api/v1/tokens",
            json!({"name": "ci", "scopes": ["read"]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let (token, id) = (
        created["token"].as_str().unwrap().to_owned(),
        created["id"].as_str().unwrap().to_owned(),
    );
    // B has the credential cached.
    assert_eq!(
        b.get(Some(&token), "/api/v1/me").await.status(),
        StatusCode::OK
    );
    let revoked = a
        .delete(&a.admin_token, &format!("/api/v1/tokens/{id}"))
        .await;
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let took = time_until(Duration::from_secs(10), || {
        let (b, token) = (&b, &token);
        async move { b.get(Some(token), "/api/v1/me").await.status() == StatusCode::UNAUTHORIZED }
    })
    .await;
    assert!(
        took < Duration::from_millis(2500),
        "B accepted the revoked token for {took:?}"
    );
}
