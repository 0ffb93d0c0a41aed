//! Ratings, comments and favourites over REST.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, assert_error, spawn_app};

pub async fn ratings_are_one_per_user_replaced_and_averaged(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "rated",
        "affine.onnx",
        Some(r#"{"visibility":"public"}"#),
    )
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    for (token, stars, review) in [
        (&alice, 2, "meh"),
        (&bob, 5, "great"),
        (&alice, 4, "better"),
    ] {
        let response = app
            .send_json(
                Method::PUT,
                token,
                "/api/v1/models/rated/rating",
                json!({ "stars": stars, "review": review }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (status, ratings) = app.get_json(None, "/api/v1/models/rated/ratings").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ratings["summary"]["ratings"], 2, "{ratings}");
    assert_eq!(ratings["summary"]["average"], 4.5, "{ratings}");
    let alices: Vec<&Value> = ratings["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["user"] == "alice")
        .collect();
    assert_eq!(alices.len(), 1);
    assert_eq!(alices[0]["stars"], 4);
    assert_eq!(alices[0]["review"], "better");

    assert_eq!(
        app.delete(&alice, "/api/v1/models/rated/rating")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, ratings) = app.get_json(None, "/api/v1/models/rated/ratings").await;
    assert_eq!(ratings["summary"]["ratings"], 1);
    assert_error(
        app.delete(&alice, "/api/v1/models/rated/rating").await,
        StatusCode::NOT_FOUND,
        "not_found",
        "not rated",
    )
    .await;
}

pub async fn ratings_outside_one_to_five_and_anonymous_ratings_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "rated",
        "affine.onnx",
        Some(r#"{"visibility":"public"}"#),
    )
    .await;
    for stars in [0, 6, -3] {
        let response = app
            .send_json(
                Method::PUT,
                &app.admin_token,
                "/api/v1/models/rated/rating",
                json!({ "stars": stars }),
            )
            .await;
        assert_error(
            response,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "1 to 5",
        )
        .await;
    }
    let response = app
        .send_json(
            Method::PUT,
            &app.admin_token,
            "/api/v1/models/rated/rating",
            json!({ "stars": "5", "x": 1 }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let anonymous = app
        .client
        .put(app.url("/api/v1/models/rated/rating"))
        .json(&json!({ "stars": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (_, ratings) = app.get_json(None, "/api/v1/models/rated/ratings").await;
    assert_eq!(
        ratings["summary"]["ratings"], 0,
        "nothing was stored: {ratings}"
    );
}

pub async fn comments_are_kept_verbatim_and_only_author_owner_or_admin_delete_them(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let owner = app.user("owner").await;
    app.push_ok(
        &owner,
        "talked",
        "affine.onnx",
        Some(r#"{"visibility":"public"}"#),
    )
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let script = "<script>alert('x')</script> & friends";
    let response = app
        .post_json(
            &alice,
            "/api/v1/models/talked/comments",
            json!({ "body": script }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let first: Value = response.json().await.unwrap();
    assert_eq!(
        first["body"], script,
        "stored as text; escaping is the renderer's job"
    );
    let second: Value = app
        .post_json(
            &bob,
            "/api/v1/models/talked/comments",
            json!({ "body": "second" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let (_, comments) = app.get_json(None, "/api/v1/models/talked/comments").await;
    let bodies: Vec<&str> = comments["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, [script, "second"], "oldest first");

    let path = |c: &Value| {
        format!(
            "/api/v1/models/talked/comments/{}",
            c["id"].as_str().unwrap()
        )
    };
    assert_error(
        app.delete(&bob, &path(&first)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "author",
    )
    .await;
    assert_eq!(
        app.delete(&owner, &path(&first)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&bob, &path(&second)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.delete(&bob, &path(&second)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "no comment",
    )
    .await;

    for body in [
        json!({ "body": "   " }),
        json!({ "body": "x".repeat(5001) }),
    ] {
        let response = app
            .post_json(&alice, "/api/v1/models/talked/comments", body)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let (_, comments) = app.get_json(None, "/api/v1/models/talked/comments").await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 0);
}

pub async fn private_models_cannot_be_rated_commented_or_favourited_by_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.user("owner").await;
    app.push_ok(&owner, "secret", "affine.onnx", None).await;
    let other = app.user("other").await;
    let put = app
        .send_json(
            Method::PUT,
            &other,
            "/api/v1/models/secret/rating",
            json!({ "stars": 1 }),
        )
        .await;
    assert_eq!(put.status(), StatusCode::NOT_FOUND);
    let post = app
        .post_json(
            &other,
            "/api/v1/models/secret/comments",
            json!({ "body": "hi" }),
        )
        .await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    let fav = app
        .send_json(
            Method::PUT,
            &other,
            "/api/v1/models/secret/favourite",
            json!({}),
        )
        .await;
    assert_eq!(fav.status(), StatusCode::NOT_FOUND);
    let (status, _) = app.get_json(None, "/api/v1/models/secret/comments").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, ratings) = app
        .get_json(Some(&owner), "/api/v1/models/secret/ratings")
        .await;
    assert_eq!(ratings["summary"]["ratings"], 0);
    assert_eq!(ratings["summary"]["favourites"], 0);
}

pub async fn favourites_are_idempotent_and_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "liked",
        "affine.onnx",
        Some(r#"{"visibility":"public"}"#),
    )
    .await;
    let alice = app.user("alice").await;
    for _ in 0..2 {
        let counts: Value = app
            .send_json(
                Method::PUT,
                &alice,
                "/api/v1/models/liked/favourite",
                json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(counts["favourites"], 1, "{counts}");
        assert_eq!(counts["favourite"], true);
    }
    let (_, admin_view) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/liked/ratings")
        .await;
    assert_eq!(admin_view["summary"]["favourites"], 1);
    assert_eq!(
        admin_view["summary"]["favourite"], false,
        "the admin did not mark it"
    );
    let counts: Value = app
        .delete(&alice, "/api/v1/models/liked/favourite")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(counts["favourites"], 0);
    assert_eq!(counts["favourite"], false);
}
