use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_error, spawn_app};

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn seed(app: &TestApp, token: &str, name: &str, metadata: Value) {
    app.push_ok(token, name, "affine.onnx", Some(&metadata.to_string()))
        .await;
}

pub async fn search_filters_sorts_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token.clone();
    seed(&app, &admin, "cloud-forensics", json!({"description": "Detects cryptomining on VMs", "tags": ["security"], "visibility": "public"})).await;
    seed(&app, &admin, "churn", json!({"description": "Customer churn", "tags": ["tabular"], "card": "Trained on telemetry", "visibility": "public"})).await;
    seed(
        &app,
        &admin,
        "vision",
        json!({"description": "Image classes", "tags": ["security", "images"]}),
    )
    .await;

    let (_, found) = app.get_json(None, "/api/v1/models?q=cryptomining").await;
    assert_eq!(names(&found), ["cloud-forensics"]);
    let (_, found) = app.get_json(None, "/api/v1/models?q=telem").await;
    assert_eq!(names(&found), ["churn"], "prefixes of card words match");
    let (_, found) = app
        .get_json(Some(&admin), "/api/v1/models?tag=security&sort=name")
        .await;
    assert_eq!(names(&found), ["cloud-forensics", "vision"]);
    let (_, found) = app
        .get_json(Some(&admin), "/api/v1/models?visibility=private")
        .await;
    assert_eq!(names(&found), ["vision"]);
    let (_, found) = app
        .get_json(Some(&admin), "/api/v1/models?sort=name&order=desc")
        .await;
    assert_eq!(names(&found), ["vision", "cloud-forensics", "churn"]);

    let mut seen = Vec::new();
    let mut path = "/api/v1/models?sort=name&limit=2".to_owned();
    loop {
        let (status, page) = app.get_json(Some(&admin), &path).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/models?sort=name&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["churn", "cloud-forensics", "vision"]);

    // Downloads sort: the downloaded model comes first.
    app.get(None, "/api/v1/models/churn/versions/1/artifact")
        .await
        .bytes()
        .await
        .unwrap();
    let (_, found) = app.get_json(None, "/api/v1/models?sort=downloads").await;
    assert_eq!(names(&found)[0], "churn");
}

pub async fn private_models_are_invisible_to_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    seed(
        &app,
        &alice,
        "secret",
        json!({"description": "alice's secret"}),
    )
    .await;
    for path in [
        "/api/v1/models/secret",
        "/api/v1/models/secret/versions",
        "/api/v1/models/secret/versions/1",
        "/api/v1/models/secret/versions/1/artifact",
    ] {
        let (status, _) = app.get_json(Some(&bob), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} as bob");
        let (status, _) = app.get_json(None, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} anonymously");
        let response = app.get(Some(&alice), path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path} as the owner");
    }
    let (_, found) = app.get_json(Some(&bob), "/api/v1/models?q=secret").await;
    assert!(names(&found).is_empty());
    let (_, found) = app
        .get_json(Some(&app.admin_token), "/api/v1/models?q=secret")
        .await;
    assert_eq!(names(&found), ["secret"], "admins see everything");
    let patch = app
        .send_json(
            Method::PATCH,
            &bob,
            "/api/v1/models/secret",
            json!({"description": "mine"}),
        )
        .await;
    assert_error(patch, StatusCode::NOT_FOUND, "not_found", "secret").await;
    assert_error(
        app.delete(&bob, "/api/v1/models/secret").await,
        StatusCode::NOT_FOUND,
        "not_found",
        "",
    )
    .await;
}

pub async fn organization_models_need_a_signed_in_user_and_public_ones_do_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    seed(
        &app,
        &alice,
        "internal",
        json!({"visibility": "organization"}),
    )
    .await;
    seed(&app, &alice, "open", json!({"visibility": "public"})).await;
    assert_eq!(
        app.get(Some(&bob), "/api/v1/models/internal")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(None, "/api/v1/models/internal").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(None, "/api/v1/models/open").await.status(),
        StatusCode::OK
    );
    let download = app
        .get(None, "/api/v1/models/open/versions/latest/artifact")
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    let (_, anonymous) = app.get_json(None, "/api/v1/models").await;
    assert_eq!(names(&anonymous), ["open"]);
}

pub async fn owners_edit_metadata_and_others_cannot(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    seed(
        &app,
        &alice,
        "m",
        json!({"visibility": "organization", "license": "MIT"}),
    )
    .await;
    let patch =
        json!({"description": "better", "tags": ["x", "y"], "card": "## Usage", "license": null});
    let response = app
        .send_json(Method::PATCH, &alice, "/api/v1/models/m", patch.clone())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let model: Value = response.json().await.unwrap();
    assert_eq!(model["description"], "better");
    assert_eq!(model["tags"], json!(["x", "y"]));
    assert_eq!(model["license"], Value::Null);
    assert_eq!(model["visibility"], "organization");
    let refused = app
        .send_json(Method::PATCH, &bob, "/api/v1/models/m", patch)
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden", "owner").await;
    let unknown = app
        .send_json(
            Method::PATCH,
            &alice,
            "/api/v1/models/m",
            json!({"owner": "bob"}),
        )
        .await;
    assert_error(
        unknown,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "unknown field",
    )
    .await;
    assert_error(
        app.delete(&bob, "/api/v1/models/m").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "",
    )
    .await;
    assert_eq!(
        app.delete(&alice, "/api/v1/models/m").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(Some(&alice), "/api/v1/models/m").await.status(),
        StatusCode::NOT_FOUND
    );
}

pub async fn versions_resolve_by_number_alias_and_latest(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token.clone();
    app.push_ok(&admin, "m", "affine.onnx", None).await;
    app.push_ok(&admin, "m", "affine_v2.onnx", None).await;
    let set = app
        .set_alias(&admin, "m", "champion", json!({"version": "1"}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let alias: Value = set.json().await.unwrap();
    assert_eq!(
        (alias["alias"].as_str(), alias["version"].as_i64()),
        (Some("champion"), Some(1))
    );
    for (reference, expected) in [("1", 1), ("2", 2), ("latest", 2), ("champion", 1)] {
        let (status, version) = app
            .get_json(
                Some(&admin),
                &format!("/api/v1/models/m/versions/{reference}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{reference}");
        assert_eq!(version["version"], expected, "{reference}");
    }
    let moved = app
        .set_alias(&admin, "m", "champion", json!({"version": 2}))
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let (_, aliases) = app.get_json(Some(&admin), "/api/v1/models/m/aliases").await;
    assert_eq!(aliases["items"][0]["version"], 2);
    for (reference, needle) in [
        ("3", "no version 3"),
        ("canary", "no alias canary"),
        ("0", "positive"),
    ] {
        let response = app
            .get(
                Some(&admin),
                &format!("/api/v1/models/m/versions/{reference}"),
            )
            .await;
        assert!(response.status().is_client_error());
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(needle), "{body}");
    }
    let missing = app
        .set_alias(&admin, "m", "champion", json!({"version": 9}))
        .await;
    assert_error(missing, StatusCode::NOT_FOUND, "not_found", "no version 9").await;
    let reserved = app
        .set_alias(&admin, "m", "latest", json!({"version": 1}))
        .await;
    assert_error(
        reserved,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "reserved",
    )
    .await;
    let numeric = app
        .set_alias(&admin, "m", "2nd", json!({"version": 1}))
        .await;
    assert_error(
        numeric,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "start with a letter",
    )
    .await;
    let alice = app.user("alice").await;
    let read_only = app.api_token(&admin, &["read", "publish"]).await;
    let no_deploy = app
        .set_alias(&read_only, "m", "canary", json!({"version": 1}))
        .await;
    assert_error(no_deploy, StatusCode::FORBIDDEN, "forbidden", "'deploy'").await;
    let not_owner = app
        .set_alias(&alice, "m", "canary", json!({"version": 1}))
        .await;
    assert_eq!(
        not_owner.status(),
        StatusCode::NOT_FOUND,
        "a private model stays hidden"
    );
}

pub async fn an_aliased_version_cannot_be_deleted_and_blobs_are_swept(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token.clone();
    app.push_ok(&admin, "m", "affine.onnx", None).await;
    app.push_ok(&admin, "m", "affine_v2.onnx", None).await;
    app.set_alias(&admin, "m", "champion", json!({"version": 1}))
        .await;
    assert_eq!(app.stored_blobs().len(), 2);
    let refused = app.delete(&admin, "/api/v1/models/m/versions/1").await;
    assert_error(refused, StatusCode::CONFLICT, "conflict", "champion").await;
    assert_eq!(
        app.delete(&admin, "/api/v1/models/m/versions/2")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.stored_blobs().len(),
        1,
        "the deleted version's blob is gone"
    );
    assert_eq!(
        app.delete(&admin, "/api/v1/models/m/aliases/champion")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&admin, "/api/v1/models/m/versions/1")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(app.stored_blobs().is_empty());
    let again = app.delete(&admin, "/api/v1/models/m/versions/1").await;
    assert_error(again, StatusCode::NOT_FOUND, "not_found", "no version 1").await;
    // The next version is 3: numbers are never reused.
    let next = app.push_ok(&admin, "m", "affine.onnx", None).await;
    assert_eq!(next["version"], 3);
}

pub async fn deleting_a_model_keeps_blobs_other_models_share(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token.clone();
    app.push_ok(&admin, "first", "affine.onnx", None).await;
    app.push_ok(&admin, "second", "affine.onnx", None).await;
    assert_eq!(
        app.stored_blobs().len(),
        1,
        "identical bytes are stored once"
    );
    assert_eq!(
        app.delete(&admin, "/api/v1/models/first").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.stored_blobs().len(),
        1,
        "still used by the second model"
    );
    let download = app
        .get(Some(&admin), "/api/v1/models/second/versions/1/artifact")
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(
        app.delete(&admin, "/api/v1/models/second").await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(app.stored_blobs().is_empty());
}

pub async fn bad_query_parameters_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    for (query, needle) in [
        ("sort=size", "unknown sort"),
        ("order=up", "unknown order"),
        ("visibility=everyone", "unknown visibility"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "invalid query"),
        ("cursor=nonsense", "cursor"),
        ("colour=red", "unknown field"),
    ] {
        let response = app
            .get(Some(&app.admin_token), &format!("/api/v1/models?{query}"))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request", needle).await;
    }
}

pub async fn every_write_is_in_the_audit_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token.clone();
    app.push_ok(&admin, "m", "affine.onnx", None).await;
    app.set_alias(&admin, "m", "champion", json!({"version": 1}))
        .await;
    app.send_json(
        Method::PATCH,
        &admin,
        "/api/v1/models/m",
        json!({"description": "d"}),
    )
    .await;
    app.delete(&admin, "/api/v1/models/m").await;
    let (status, log) = app.get_json(Some(&admin), "/api/v1/audit?limit=4").await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "model.delete",
            "model.update",
            "alias.set",
            "version.create"
        ]
    );
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "admin" && e["target"] == "model:m")
    );
    let cursor = log["next_cursor"].as_str().unwrap();
    let (_, older) = app
        .get_json(
            Some(&admin),
            &format!("/api/v1/audit?limit=4&cursor={cursor}"),
        )
        .await;
    assert_eq!(older["items"][0]["action"], "model.create");
}
