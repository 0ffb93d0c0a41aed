//! Resumable uploads over the API: parts in any order, checked one by one, completed into the
//! same version a push makes; bad parts, missing parts, other users and racing completions.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{
    Backend, TestApp, assert_error, onnx::add_model, s3_secret, spawn_app, spawn_app_with, use_s3,
};

const PART: usize = 16 << 10;

/// A valid model of about 40 KB: three parts of 16 KiB.
fn model_bytes() -> Vec<u8> {
    add_model(10_000)
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn begin(app: &TestApp, token: &str, body: Value) -> Response {
    app.post_json(token, "/api/v1/uploads", body).await
}

async fn begin_ok(app: &TestApp, model: &str, bytes: &[u8]) -> Value {
    let body =
        json!({"model": model, "size": bytes.len(), "sha256": sha(bytes), "part_size": PART});
    let response = begin(app, &app.admin_token, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let upload: Value = response.json().await.unwrap();
    assert_eq!(upload["parts"], bytes.len().div_ceil(PART));
    upload
}

async fn put_part(
    app: &TestApp,
    token: &str,
    id: &str,
    n: i64,
    bytes: &[u8],
    sha256: &str,
) -> Response {
    app.client
        .put(app.url(&format!("/api/v1/uploads/{id}/parts/{n}?sha256={sha256}")))
        .bearer_auth(token)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

fn part(bytes: &[u8], n: usize) -> &[u8] {
    &bytes[(n - 1) * PART..(n * PART).min(bytes.len())]
}

async fn send_part(app: &TestApp, id: &str, bytes: &[u8], n: usize) {
    let p = part(bytes, n);
    let response = put_part(app, &app.admin_token, id, n as i64, p, &sha(p)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let received: Value = response.json().await.unwrap();
    assert_eq!(received, json!({"n": n, "size": p.len(), "sha256": sha(p)}));
}

async fn complete(app: &TestApp, token: &str, id: &str, body: Option<Value>) -> Response {
    let request = app
        .client
        .post(app.url(&format!("/api/v1/uploads/{id}/complete")))
        .bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.unwrap()
}

async fn progress(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    app.get_json(Some(token), &format!("/api/v1/uploads/{id}"))
        .await
}

fn parts_stored(app: &TestApp) -> usize {
    walk(&app.data_dir.join("objects/uploads"))
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

pub async fn parts_sent_out_of_order_complete_into_the_version_a_push_makes(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = model_bytes();
    let upload = begin_ok(&app, "big", &bytes).await;
    let id = upload["id"].as_str().unwrap();
    assert_eq!(
        (upload["state"].as_str(), upload["received"].clone()),
        (Some("open"), json!([]))
    );
    for n in [3, 1] {
        send_part(&app, id, &bytes, n).await;
    }
    let (status, now) = progress(&app, &app.admin_token, id).await;
    assert_eq!(status, StatusCode::OK);
    let numbers: Vec<_> = now["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["n"].clone())
        .collect();
    assert_eq!(numbers, [json!(1), json!(3)], "a client resumes from this");
    send_part(&app, id, &bytes, 2).await;
    // The same part again (a retry after a lost answer) is fine.
    send_part(&app, id, &bytes, 2).await;
    assert_eq!(parts_stored(&app), 3, "each part once, in the object store");

    let metadata = json!({"metadata": {"description": "sent in parts", "tags": ["resumable"]}});
    let done = complete(&app, &app.admin_token, id, Some(metadata)).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    assert_eq!(done.headers()["location"], "/api/v1/models/big/versions/1");
    let version: Value = done.json().await.unwrap();
    assert_eq!(
        (version["version"].clone(), version["sha256"].as_str()),
        (json!(1), Some(sha(&bytes).as_str()))
    );
    assert_eq!(version["size"], bytes.len());
    let (_, model) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/big")
        .await;
    assert_eq!(
        (model["description"].as_str(), model["tags"].clone()),
        (Some("sent in parts"), json!(["resumable"]))
    );
    let artifact = app
        .get(
            Some(&app.admin_token),
            "/api/v1/models/big/versions/1/artifact",
        )
        .await;
    assert_eq!(artifact.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // Completing again answers the same version; so does a push of the same bytes.
    let again = complete(&app, &app.admin_token, id, None).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["version"], 1);
    let pushed = app.push(&app.admin_token, "big", bytes.clone(), None).await;
    assert_eq!(pushed.status(), StatusCode::OK);
    assert_eq!(
        progress(&app, &app.admin_token, id).await.1["state"],
        "done"
    );
    assert_eq!(
        parts_stored(&app),
        0,
        "the parts are deleted once the version exists"
    );
    assert!(app.staged_files().is_empty());
}

pub async fn bad_parts_are_refused_and_only_good_ones_are_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = model_bytes();
    let upload = begin_ok(&app, "big", &bytes).await;
    let id = upload["id"].as_str().unwrap();
    let token = &app.admin_token;
    let first = part(&bytes, 1);
    let wrong = put_part(&app, token, id, 1, first, &sha(b"other bytes")).await;
    assert_error(
        wrong,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "send it again",
    )
    .await;
    let short = put_part(&app, token, id, 1, &first[..100], &sha(&first[..100])).await;
    assert_error(
        short,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "must be 16384 bytes",
    )
    .await;
    let long = [first, b"x"].concat();
    let long = put_part(&app, token, id, 1, &long, &sha(&long)).await;
    assert_eq!(long.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for n in [0, 4, -1] {
        let past = put_part(&app, token, id, n, first, &sha(first)).await;
        assert_error(
            past,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "parts 1 to 3",
        )
        .await;
    }
    let not_hex = put_part(&app, token, id, 1, first, "not-a-hash").await;
    assert_error(
        not_hex,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "64 hexadecimal",
    )
    .await;
    let unsigned = app
        .client
        .put(app.url(&format!("/api/v1/uploads/{id}/parts/1")))
        .bearer_auth(token)
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert_error(
        unsigned,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Content-Digest",
    )
    .await;
    assert_eq!(progress(&app, token, id).await.1["received"], json!([]));
    assert_eq!(parts_stored(&app), 0);
    assert!(app.staged_files().is_empty());

    // RFC 9530's Content-Digest carries the hash too.
    use base64::Engine;
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(first));
    let signed = app
        .client
        .put(app.url(&format!("/api/v1/uploads/{id}/parts/1")))
        .bearer_auth(token)
        .header("Content-Digest", format!("sha-256=:{digest}:"))
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
    for digest in ["sha-256=:!!!:", "sha-256=abc", "md5=:AAAA:", "garbage"] {
        let bad = app
            .client
            .put(app.url(&format!("/api/v1/uploads/{id}/parts/2")))
            .bearer_auth(token)
            .header("Content-Digest", digest)
            .body(part(&bytes, 2).to_vec())
            .send()
            .await
            .unwrap();
        assert_error(
            bad,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Digest",
        )
        .await;
    }

    // Completing with parts missing says which, and keeps the upload.
    let early = complete(&app, token, id, None).await;
    assert_error(
        early,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "2 of 3 parts have not arrived: 2, 3",
    )
    .await;
    assert_eq!(progress(&app, token, id).await.1["state"], "open");
    for n in [2, 3] {
        send_part(&app, id, &bytes, n).await;
    }
    assert_eq!(
        complete(&app, token, id, None).await.status(),
        StatusCode::CREATED
    );
}

pub async fn uploads_that_cannot_become_a_version_are_refused_and_leave_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.onboarding.max_model_bytes = 1 << 20).await;
    let token = app.admin_token.clone();
    let too_big = begin(&app, &token, json!({"model": "big", "size": 2 << 20})).await;
    assert_error(
        too_big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "onboarding.max_model_bytes",
    )
    .await;
    for (body, needle) in [
        (json!({"model": "big", "size": 0}), "at least 1 byte"),
        (json!({"model": "Bad Name", "size": 10}), "name"),
        (json!({"model": "peer:m", "size": 10}), "reserved"),
        (
            json!({"model": "big", "size": 10, "part_size": 10}),
            "part_size",
        ),
        (
            json!({"model": "big", "size": 10, "sha256": "abc"}),
            "64 hexadecimal",
        ),
        (json!({"model": "big", "size": 10, "extra": true}), "extra"),
    ] {
        let refused = begin(&app, &token, body.clone()).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = refused.text().await.unwrap();
        assert!(text.contains(needle), "{body}: {text}");
    }

    // Bytes that are not ONNX: refused at completion, the upload and its parts discarded.
    let text = vec![b'#'; 20_000];
    let upload = begin_ok(&app, "notes", &text).await;
    let id = upload["id"].as_str().unwrap();
    for n in 1..=2 {
        send_part(&app, id, &text, n).await;
    }
    assert!(parts_stored(&app) > 0);
    let refused = complete(&app, &token, id, None).await;
    assert_error(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "model_refused",
        "refused",
    )
    .await;
    assert_eq!(progress(&app, &token, id).await.0, StatusCode::NOT_FOUND);
    assert_eq!(parts_stored(&app), 0);
    app.assert_nothing_stored().await;

    // A declared SHA-256 the bytes do not have: refused, nothing kept.
    let bytes = model_bytes();
    let body = json!({"model": "big", "size": bytes.len(), "sha256": sha(b"something else"), "part_size": PART});
    let upload: Value = begin(&app, &token, body).await.json().await.unwrap();
    let id = upload["id"].as_str().unwrap();
    for n in 1..=3 {
        send_part(&app, id, &bytes, n).await;
    }
    let mismatch = complete(&app, &token, id, None).await;
    assert_error(
        mismatch,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "not the declared",
    )
    .await;
    assert_eq!(progress(&app, &token, id).await.0, StatusCode::NOT_FOUND);
    app.assert_nothing_stored().await;
    assert_eq!(parts_stored(&app), 0);

    // Metadata that is not the documented JSON.
    let upload = begin_ok(&app, "big", &bytes).await;
    let id = upload["id"].as_str().unwrap();
    let junk = complete(
        &app,
        &token,
        id,
        Some(json!({"metadata": {"colour": "red"}})),
    )
    .await;
    assert_eq!(junk.status(), StatusCode::BAD_REQUEST);
}

pub async fn another_users_upload_is_not_found_and_a_token_needs_publish(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = model_bytes();
    let upload = begin_ok(&app, "big", &bytes).await;
    let id = upload["id"].as_str().unwrap();
    let bob = app.user("bob").await;
    assert_eq!(progress(&app, &bob, id).await.0, StatusCode::NOT_FOUND);
    let p = part(&bytes, 1);
    assert_eq!(
        put_part(&app, &bob, id, 1, p, &sha(p)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        complete(&app, &bob, id, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&bob, &format!("/api/v1/uploads/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        progress(&app, &bob, "not-an-id").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        progress(&app, &app.admin_token, id).await.0,
        StatusCode::OK,
        "still there"
    );

    // Bob may not open an upload for the admin's models: a private one is not found, a
    // public one is not his.
    app.push_ok(&app.admin_token, "hidden", "affine.onnx", None)
        .await;
    let hidden = begin(&app, &bob, json!({"model": "hidden", "size": 10})).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let public = Some(r#"{"visibility": "public"}"#);
    app.push_ok(&app.admin_token, "affine", "affine.onnx", public)
        .await;
    let theirs = begin(&app, &bob, json!({"model": "affine", "size": 10})).await;
    assert_eq!(theirs.status(), StatusCode::FORBIDDEN);

    let reader = app.api_token(&app.admin_token, &["read"]).await;
    let refused = begin(&app, &reader, json!({"model": "big", "size": 10})).await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden", "publish").await;
    assert_eq!(progress(&app, &reader, id).await.0, StatusCode::FORBIDDEN);
    let anonymous = app
        .client
        .post(app.url("/api/v1/uploads"))
        .json(&json!({"model": "big", "size": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Aborting deletes the parts; the upload is gone.
    send_part(&app, id, &bytes, 1).await;
    let aborted = app
        .delete(&app.admin_token, &format!("/api/v1/uploads/{id}"))
        .await;
    assert_eq!(aborted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        progress(&app, &app.admin_token, id).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(parts_stored(&app), 0);
}

pub async fn two_clients_completing_one_upload_at_once_make_one_version(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = model_bytes();
    let upload = begin_ok(&app, "big", &bytes).await;
    let id = upload["id"].as_str().unwrap();
    for n in 1..=3 {
        send_part(&app, id, &bytes, n).await;
    }
    let (a, b) = tokio::join!(
        complete(&app, &app.admin_token, id, None),
        complete(&app, &app.admin_token, id, None)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert!(
        statuses == [201, 409] || statuses == [200, 201],
        "one completes, the other waits its turn or gets the same version: {statuses:?}"
    );
    let (_, versions) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/big/versions")
        .await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1);
    // After a 409 the loser completes again and gets the version.
    let after = complete(&app, &app.admin_token, id, None).await;
    assert_eq!(after.status(), StatusCode::OK);
}

pub async fn expired_uploads_are_swept_with_their_parts(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = model_bytes();
    let upload = begin_ok(&app, "big", &bytes).await;
    let id: uuid::Uuid = upload["id"].as_str().unwrap().parse().unwrap();
    send_part(&app, &id.to_string(), &bytes, 1).await;
    let fresh = begin_ok(&app, "other", &bytes).await;
    assert_eq!(
        app.app_core.sweep_uploads().await.unwrap(),
        0,
        "nothing expired yet"
    );
    // Its last activity a day ago: past the expiry.
    let past =
        caravan_catalog::Timestamp::from_datetime(chrono::Utc::now() - chrono::Duration::days(2));
    let catalog = app.app_core.catalog_for_tests();
    let claim = caravan_catalog::Timestamp::now();
    assert!(catalog.begin_completing(id, claim, claim).await.unwrap());
    assert!(catalog.end_completing(id, claim, None, past).await.unwrap());
    assert_eq!(app.app_core.sweep_uploads().await.unwrap(), 1);
    assert_eq!(
        progress(&app, &app.admin_token, &id.to_string()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(parts_stored(&app), 0);
    let fresh = fresh["id"].as_str().unwrap();
    assert_eq!(
        progress(&app, &app.admin_token, fresh).await.0,
        StatusCode::OK
    );
}

/// Two replicas on one PostgreSQL database and one S3 bucket, each with its own disk: parts
/// sent to either, progress read from either, completed on either.
pub async fn parts_sent_to_two_replicas_on_s3_complete_on_either() {
    let storage = std::sync::Arc::new(std::sync::Mutex::new(None));
    let shared = storage.clone();
    let a = spawn_app_with(Backend::Postgres, move |s| {
        use_s3(s, &s3_secret());
        *shared.lock().unwrap() = Some(s.storage.clone());
    })
    .await;
    let storage = storage.lock().unwrap().clone().unwrap();
    let database = a.database_url.clone();
    let b = spawn_app_with(Backend::Postgres, move |s| {
        s.database.url = database.into();
        s.storage = storage;
    })
    .await;
    let bytes = model_bytes();
    let upload = begin_ok(&a, "big", &bytes).await;
    let id = upload["id"].as_str().unwrap();
    for (replica, n) in [(&b, 2), (&a, 3), (&b, 1)] {
        let p = part(&bytes, n);
        let sent = put_part(replica, &a.admin_token, id, n as i64, p, &sha(p)).await;
        assert_eq!(sent.status(), StatusCode::OK);
    }
    let (status, seen) = progress(&b, &a.admin_token, id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["received"].as_array().unwrap().len(), 3);
    let done = complete(&b, &a.admin_token, id, None).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    let artifact = a
        .get(
            Some(&a.admin_token),
            "/api/v1/models/big/versions/1/artifact",
        )
        .await;
    assert_eq!(artifact.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_eq!(
        parts_stored(&a) + parts_stored(&b),
        0,
        "no replica's disk held a part"
    );
    assert!(a.staged_files().is_empty() && b.staged_files().is_empty());
}

pub async fn a_store_that_fails_during_assembly_leaves_the_upload_open_to_resume(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = model_bytes();
    let upload = begin_ok(&app, "big", &bytes).await;
    let id = upload["id"].as_str().unwrap();
    for n in 1..=3 {
        send_part(&app, id, &bytes, n).await;
    }
    // The store loses part 2 (a bucket that does not answer looks the same from here).
    let dir = app
        .data_dir
        .join("objects/uploads")
        .join(id.replace('-', ""));
    let lost = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("00002-"))
        .unwrap();
    std::fs::remove_file(lost.path()).unwrap();
    let failed = complete(&app, &app.admin_token, id, None).await;
    assert!(failed.status().is_server_error(), "{}", failed.status());
    let (_, now) = progress(&app, &app.admin_token, id).await;
    assert_eq!(now["state"], "open", "kept for a retry: {now}");
    assert_eq!(now["received"].as_array().unwrap().len(), 3);
    assert_eq!(parts_stored(&app), 2);
    // The client sends the part again and completes.
    send_part(&app, id, &bytes, 2).await;
    assert_eq!(
        complete(&app, &app.admin_token, id, None).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(parts_stored(&app), 0);
    assert!(app.staged_files().is_empty());
}
