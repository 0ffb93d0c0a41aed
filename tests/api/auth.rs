use std::collections::BTreeSet;

use caravan_catalog::{NewToken, Timestamp};
use caravan_domain::Scope;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_PASSWORD, Backend, JWT_SECRET, assert_error, fixture, spawn_app};

pub async fn login_returns_a_session_that_authenticates(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["username"], "admin");
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["expires_at"].is_string());
    let (status, me) = app.get_json(body["token"].as_str(), "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "admin");
}

pub async fn wrong_passwords_and_unknown_users_get_the_same_401(backend: Backend) {
    let app = spawn_app(backend).await;
    for (user, password) in [("admin", "wrong-password"), ("nobody", "whatever-password")] {
        let response = app.try_login(user, password).await;
        assert_error(
            response,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "wrong username or password",
        )
        .await;
    }
    let malformed = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(
        malformed,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "JSON",
    )
    .await;
}

fn jwt(claims: Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

pub async fn expired_tampered_and_unsigned_jwts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, me) = app.get_json(Some(&app.admin_token), "/api/v1/me").await;
    let now = chrono::Utc::now().timestamp();
    let admin = app
        .app_core
        .catalog_for_tests()
        .user_by_name("admin")
        .await
        .unwrap()
        .unwrap();
    let pwd = admin.password_changed_at.0.timestamp_micros();
    let claims = |exp: i64, aud: &str| {
        json!({ "sub": me["id"], "name": "admin", "iss": "caravan", "aud": aud, "iat": now - 100,
                "exp": exp, "pwd": pwd })
    };
    // A correctly signed token is accepted, which shows the forgeries below fail for their flaw.
    let good = jwt(claims(now + 600, "caravan"), JWT_SECRET);
    assert_eq!(
        app.get(Some(&good), "/api/v1/me").await.status(),
        StatusCode::OK
    );

    let expired = jwt(claims(now - 60, "caravan"), JWT_SECRET);
    let wrong_audience = jwt(claims(now + 600, "someone-else"), JWT_SECRET);
    let wrong_key = jwt(claims(now + 600, "caravan"), "not-the-secret");
    let mut tampered = app.admin_token.clone();
    let payload_end = tampered.rfind('.').unwrap();
    tampered.replace_range(payload_end - 3..payload_end, "AAA");
    let unsigned = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = b64.encode(claims(now + 600, "caravan").to_string());
        format!("{header}.{payload}.")
    };
    for token in [
        expired,
        wrong_audience,
        wrong_key,
        tampered,
        unsigned,
        "garbage".into(),
    ] {
        let response = app.get(Some(&token), "/api/v1/me").await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated", "").await;
    }
}

pub async fn repeated_failed_logins_are_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..5 {
        let failed = app.try_login("admin", "wrong-password").await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = app.try_login("admin", ADMIN_PASSWORD).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_error(
        limited,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "retry",
    )
    .await;
}

pub async fn concurrent_guesses_are_counted_before_any_is_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let guesses = (0..60).map(|i| {
        let app = &app;
        async move { app.try_login("admin", &format!("guess-{i}")).await.status() }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, limited), (5, 55), "{statuses:?}");
}

pub async fn overlong_credentials_are_refused_before_any_work(backend: Backend) {
    let app = spawn_app(backend).await;
    // Far more attempts than one address is allowed: none of them is counted.
    for i in 0..40 {
        let username = format!("{i}{}", "u".repeat(10_000));
        let response = app.try_login(&username, "whatever-password").await;
        assert_error(
            response,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username",
        )
        .await;
    }
    let response = app.try_login("admin", &"p".repeat(2_000)).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "password",
    )
    .await;
    assert_eq!(
        app.try_login("admin", ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
}

pub async fn api_tokens_are_shown_once_listed_without_secret_and_revocable(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let response = app
        .post_json(
            &alice,
            "/api/v1/tokens",
            json!({ "name": "ci", "scopes": ["read", "publish"] }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cvn_") && secret.len() > 40);
    assert_eq!(created["scopes"], json!(["read", "publish"]));
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));

    let (_, me) = app.get_json(Some(&secret), "/api/v1/me").await;
    assert_eq!(me["username"], "alice");
    let (status, list) = app.get_json(Some(&alice), "/api/v1/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never listed"
    );
    assert!(
        list["items"][0]["last_used_at"].is_string(),
        "use is recorded"
    );

    let id = created["id"].as_str().unwrap();
    let bob = app.user("bob").await;
    let not_bobs = app.delete(&bob, &format!("/api/v1/tokens/{id}")).await;
    assert_error(not_bobs, StatusCode::NOT_FOUND, "not_found", "token").await;
    assert_eq!(
        app.delete(&alice, &format!("/api/v1/tokens/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let revoked = app.get(Some(&secret), "/api/v1/me").await;
    assert_error(
        revoked,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "revoked",
    )
    .await;
}

pub async fn expired_api_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let past = app
        .post_json(
            &app.admin_token,
            "/api/v1/tokens",
            json!({
                "name": "old", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"
            }),
        )
        .await;
    assert_error(past, StatusCode::BAD_REQUEST, "invalid_request", "future").await;
    // A token that expired since it was made (written directly: the API refuses past dates).
    let admin = app
        .app_core
        .catalog_for_tests()
        .user_by_name("admin")
        .await
        .unwrap()
        .unwrap();
    let actor = caravan_catalog::Actor {
        user_id: admin.id,
        username: "admin".into(),
    };
    let secret = "cvn_expiredexpiredexpiredexpiredexpired00000";
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret.as_bytes()));
    let token = NewToken {
        user_id: admin.id,
        name: "expired".into(),
        prefix: secret[..10].into(),
        secret_sha256: sha,
        scopes: BTreeSet::from([Scope::Read]),
        expires_at: Some(Timestamp::from_datetime(
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )),
    };
    app.app_core
        .catalog_for_tests()
        .create_token(token, &actor)
        .await
        .unwrap();
    let response = app.get(Some(secret), "/api/v1/me").await;
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "expired",
    )
    .await;
}

pub async fn a_token_without_publish_scope_cannot_push(backend: Backend) {
    let app = spawn_app(backend).await;
    let read_only = app.api_token(&app.admin_token, &["read"]).await;
    let response = app
        .push(&read_only, "m", fixture("affine.onnx"), None)
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden", "'publish'").await;
    app.assert_nothing_stored().await;
    let publish_only = app.api_token(&app.admin_token, &["publish"]).await;
    app.push_ok(&publish_only, "m", "affine.onnx", None).await;
    let reading = app.get(Some(&publish_only), "/api/v1/models/m").await;
    assert_error(reading, StatusCode::FORBIDDEN, "forbidden", "'read'").await;
}

pub async fn a_token_cannot_grant_scopes_its_holder_lacks(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let response = app
        .post_json(
            &alice,
            "/api/v1/tokens",
            json!({ "name": "x", "scopes": ["admin"] }),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden", "'admin'").await;
    let read_only = app.api_token(&alice, &["read"]).await;
    let response = app
        .post_json(
            &read_only,
            "/api/v1/tokens",
            json!({ "name": "x", "scopes": ["publish"] }),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden", "'publish'").await;
    let unknown = app
        .post_json(
            &alice,
            "/api/v1/tokens",
            json!({ "name": "x", "scopes": ["root"] }),
        )
        .await;
    assert_error(
        unknown,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "unknown scope",
    )
    .await;
}

pub async fn changing_the_password_ends_older_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let old_session = app.user("alice").await;
    let wrong = app
        .post_json(
            &old_session,
            "/api/v1/auth/password",
            json!({
                "current_password": "not-it", "new_password": "a-new-password"
            }),
        )
        .await;
    assert_error(
        wrong,
        StatusCode::FORBIDDEN,
        "forbidden",
        "current password",
    )
    .await;
    let short = app
        .post_json(
            &old_session,
            "/api/v1/auth/password",
            json!({
                "current_password": "alice-password", "new_password": "short"
            }),
        )
        .await;
    assert_error(
        short,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "at least 8",
    )
    .await;
    let changed = app
        .post_json(
            &old_session,
            "/api/v1/auth/password",
            json!({
                "current_password": "alice-password", "new_password": "a-new-password"
            }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let stale = app.get(Some(&old_session), "/api/v1/me").await;
    assert_error(
        stale,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "log in again",
    )
    .await;
    let fresh = app.login("alice", "a-new-password").await;
    assert_eq!(
        app.get(Some(&fresh), "/api/v1/me").await.status(),
        StatusCode::OK
    );
}

pub async fn a_disabled_user_is_refused_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let token = app.api_token(&alice, &["read"]).await;
    let (_, me) = app.get_json(Some(&alice), "/api/v1/me").await;
    let path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let disabled = app
        .send_json(
            reqwest::Method::PATCH,
            &app.admin_token,
            &path,
            json!({ "disabled": true }),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::NO_CONTENT);
    for credential in [&alice, &token] {
        let response = app.get(Some(credential), "/api/v1/me").await;
        assert_error(
            response,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "disabled",
        )
        .await;
    }
    let login = app.try_login("alice", "alice-password").await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    let enabled = app
        .send_json(
            reqwest::Method::PATCH,
            &app.admin_token,
            &path,
            json!({ "disabled": false }),
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(Some(&token), "/api/v1/me").await.status(),
        StatusCode::OK
    );
}

pub async fn admin_endpoints_refuse_other_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    for path in ["/api/v1/users", "/api/v1/audit"] {
        assert_error(
            app.get(Some(&alice), path).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            "",
        )
        .await;
        assert_error(
            app.get(None, path).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "",
        )
        .await;
    }
    let create = app
        .post_json(
            &alice,
            "/api/v1/users",
            json!({ "username": "eve", "password": "eve-password", "role": "admin" }),
        )
        .await;
    assert_error(create, StatusCode::FORBIDDEN, "forbidden", "").await;
    let duplicate = app
        .post_json(
            &app.admin_token,
            "/api/v1/users",
            json!({ "username": "alice", "password": "whatever1", "role": "user" }),
        )
        .await;
    assert_error(duplicate, StatusCode::CONFLICT, "conflict", "alice").await;
}

pub async fn pushing_without_credentials_is_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = reqwest::multipart::Form::new().part(
        "model",
        reqwest::multipart::Part::bytes(fixture("affine.onnx")),
    );
    let response = app
        .client
        .post(app.url("/api/v1/models/m/versions"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "credentials",
    )
    .await;
    let bad_scheme = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .unwrap();
    assert_error(
        bad_scheme,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Bearer",
    )
    .await;
    app.assert_nothing_stored().await;
}
