//! MLflow's proxied multipart artifact uploads: the upload id is the parts' only credential,
//! so it is narrow (one upload's parts, one part per number, the model limit in all, nothing
//! after complete or abort), and only its owner completes it, in the directory it names.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::mlflow_tracking::{files_under, run_of};
use crate::support::{Backend, JWT_SECRET, TestApp, spawn_app_with};

async fn mpu(app: &TestApp, token: &str, verb: &str, dir: &str, body: Value) -> reqwest::Response {
    let path = format!("/api/2.0/mlflow-artifacts/mpu/{verb}/{dir}");
    app.post_json(token, &path, body).await
}

/// A part PUT as to a presigned URL: no credentials.
async fn part(app: &TestApp, id: &str, n: u32, bytes: &[u8]) -> reqwest::Response {
    let url = app.url(&format!("/api/2.0/mlflow-artifacts/mpu/parts/{id}/{n}"));
    app.client
        .put(url)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

fn etag(r: &reqwest::Response) -> String {
    r.headers()["etag"].to_str().unwrap().to_owned()
}

/// The claims of a token, unverified.
fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn signed(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// The part objects (not closed markers) the store holds for all multipart uploads.
fn stored_parts(app: &TestApp) -> Vec<String> {
    let root = app.data_dir.join("objects/mlflow-mpu");
    if !root.exists() {
        return Vec::new();
    }
    let mut parts = files_under(&root);
    parts.retain(|name| name != "closed");
    parts
}

async fn create(app: &TestApp, token: &str, dir: &str, parts: i64) -> String {
    let body = json!({"path": "/home/me/../w.bin", "num_parts": parts});
    let created = mpu(app, token, "create", dir, body).await;
    assert_eq!(created.status(), StatusCode::OK);
    let created: Value = created.json().await.unwrap();
    created["upload_id"].as_str().unwrap().to_owned()
}

pub async fn mlflow_multipart_upload_ids_are_narrow_and_only_the_owner_completes(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.onboarding.max_model_bytes = 64 << 10).await;
    let session = app.user("alice").await;
    let token = app.api_token(&session, &["read", "publish"]).await;
    let bob = app.user("bob").await;
    let bob_token = app.api_token(&bob, &["read", "publish"]).await;
    let run = run_of(&app, &token).await;
    let dir = format!("0/{run}/artifacts/parts");

    for parts in [0, 10_001] {
        let body = json!({"path": "/tmp/w.bin", "num_parts": parts});
        let response = mpu(&app, &token, "create", &dir, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{parts} parts");
    }
    let body = json!({"path": "w.bin", "num_parts": 2});
    let response = mpu(&app, &bob_token, "create", &dir, body).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "bob in alice's run"
    );

    let id = create(&app, &token, &dir, 2).await;
    // Ids that are not this server's upload ids: forged, garbage, a session, a token with the
    // upload's claims for another audience, an expired one.
    let mut tampered = id.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let mut other_audience = claims_of(&id);
    other_audience["aud"] = json!("caravan");
    let mut expired = claims_of(&id);
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    for (what, bad) in [
        ("forged", tampered),
        ("garbage", "garbage".to_owned()),
        ("a session", session.clone()),
        ("another audience", signed(&other_audience)),
        ("expired", signed(&expired)),
    ] {
        assert_eq!(
            part(&app, &bad, 1, b"x").await.status(),
            StatusCode::NOT_FOUND,
            "{what}"
        );
    }
    for n in [0, 3] {
        assert_eq!(
            part(&app, &id, n, b"x").await.status(),
            StatusCode::BAD_REQUEST,
            "part {n}"
        );
    }
    // A part sent again replaces the one before: one object per part number.
    assert_eq!(part(&app, &id, 1, b"HELLO ").await.status(), StatusCode::OK);
    let first = part(&app, &id, 1, b"hello ").await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(stored_parts(&app).len(), 1, "{:?}", stored_parts(&app));
    let (e1, e2) = (etag(&first), etag(&part(&app, &id, 2, b"world").await));
    // All parts together stay within the model limit (64 KiB here).
    let big = vec![b'x'; 60 << 10];
    assert_eq!(
        part(&app, &id, 2, &big).await.status(),
        StatusCode::OK,
        "within the limit"
    );
    let over = part(&app, &id, 1, &big).await;
    assert_eq!(over.status(), StatusCode::BAD_REQUEST);
    let over: Value = over.json().await.unwrap();
    assert!(
        over["message"]
            .as_str()
            .unwrap()
            .contains("onboarding.max_model_bytes"),
        "{over}"
    );
    let e2 = {
        let again = part(&app, &id, 2, b"world").await;
        assert_eq!(etag(&again), e2, "the same bytes, the same ETag");
        etag(&again)
    };
    assert_eq!(stored_parts(&app).len(), 2, "{:?}", stored_parts(&app));

    let complete = |parts: Value| json!({"upload_id": id, "parts": parts});
    let in_order = json!([{"part_number": 1, "etag": e1}, {"part_number": 2, "etag": e2}]);
    let swapped = json!([{"part_number": 2, "etag": e2}, {"part_number": 1, "etag": e1}]);
    let wrong = json!([{"part_number": 1, "etag": e2}, {"part_number": 2, "etag": e1}]);
    let elsewhere = format!("0/{run}/artifacts/other");
    for (who, at, parts, status) in [
        (&bob_token, &dir, in_order.clone(), StatusCode::NOT_FOUND),
        (&token, &elsewhere, in_order.clone(), StatusCode::NOT_FOUND),
        (&token, &dir, swapped, StatusCode::BAD_REQUEST),
        (&token, &dir, wrong, StatusCode::BAD_REQUEST),
        (&token, &dir, in_order.clone(), StatusCode::OK),
        // A completed upload takes nothing more.
        (&token, &dir, in_order, StatusCode::NOT_FOUND),
    ] {
        let response = mpu(&app, who, "complete", at, complete(parts.clone())).await;
        assert_eq!(response.status(), status, "{at} {parts}");
    }
    let joined = app
        .get(
            Some(&token),
            &format!("/api/2.0/mlflow-artifacts/artifacts/{dir}/w.bin"),
        )
        .await;
    assert_eq!(
        joined.text().await.unwrap(),
        "hello world",
        "the base name, parts in order"
    );
    assert!(stored_parts(&app).is_empty(), "{:?}", stored_parts(&app));
    assert_eq!(
        part(&app, &id, 1, b"after").await.status(),
        StatusCode::NOT_FOUND,
        "a part after complete"
    );
    assert!(stored_parts(&app).is_empty(), "{:?}", stored_parts(&app));

    // Abort drops the parts and closes the upload; only its owner aborts.
    let id = create(&app, &token, &dir, 1).await;
    assert_eq!(part(&app, &id, 1, b"x").await.status(), StatusCode::OK);
    let abort = json!({"upload_id": id});
    let refused = mpu(&app, &bob_token, "abort", &dir, abort.clone()).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(stored_parts(&app).len(), 1);
    let aborted = mpu(&app, &token, "abort", &dir, abort).await;
    assert_eq!(aborted.status(), StatusCode::OK);
    assert!(stored_parts(&app).is_empty(), "{:?}", stored_parts(&app));
    assert_eq!(
        part(&app, &id, 1, b"x").await.status(),
        StatusCode::NOT_FOUND,
        "a part after abort"
    );

    // A streamed body sent gzip-encoded is stored decoded.
    let gzipped = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"plain text").unwrap();
        e.finish().unwrap()
    };
    let path = format!("/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/gz.txt");
    let put = app
        .client
        .put(app.url(&path))
        .bearer_auth(&token)
        .header("Content-Encoding", "gzip")
        .body(gzipped)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let read = app.get(Some(&token), &path).await;
    assert_eq!(read.text().await.unwrap(), "plain text");
}
