//! Incoming webhooks, cron schedules and outgoing events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pipeline_support::{app, create_pipeline, csv, dataset, spec, trainer};
use crate::support::{Backend, TestApp};

async fn call_webhook(
    app: &TestApp,
    pipeline: &str,
    secret: &str,
    timestamp: i64,
    body: &str,
) -> reqwest::Response {
    let ts = timestamp.to_string();
    app.client
        .post(app.url(&format!("/api/v1/pipelines/{pipeline}/webhook")))
        .header("x-caravan-timestamp", &ts)
        .header(
            "x-caravan-signature",
            caravan_pipelines::webhook_signature(secret, &ts, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn rotate(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json(token, "/api/v1/pipelines/hooked/webhook-secret", json!({}))
        .await
}

pub async fn incoming_webhooks_start_runs_only_when_signed_recent_and_new(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "holdout", csv(50, 7, false)).await;
    dataset(&app, "telemetry", csv(50, 1, false)).await;
    let mut s = spec("hooked", "forensics", &trainer, json!({}));
    s["trigger"] = json!({});
    assert_eq!(create_pipeline(&app, s).await.status(), StatusCode::CREATED);
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        call_webhook(&app, "hooked", "none-yet", now, "{}")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let first: Value = rotate(&app, &app.admin_token).await.json().await.unwrap();
    let first = first["secret"].as_str().unwrap().to_owned();
    let other = app.user("other").await;
    assert_eq!(rotate(&app, &other).await.status(), StatusCode::FORBIDDEN);

    let unsigned = app
        .client
        .post(app.url("/api/v1/pipelines/hooked/webhook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        call_webhook(&app, "hooked", "wrong-secret", now, "{}")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call_webhook(&app, "hooked", &first, now - 3600, "{}")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let accepted = call_webhook(&app, "hooked", &first, now, r#"{"reason":"new data"}"#).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let run: Value = accepted.json().await.unwrap();
    assert_eq!(run["trigger"], "webhook");
    let replay = call_webhook(&app, "hooked", &first, now, r#"{"reason":"new data"}"#).await;
    assert_eq!(replay.status(), StatusCode::CONFLICT, "a replay is refused");

    // After a rotation the previous secret still works once more; after two it does not.
    let second: Value = rotate(&app, &app.admin_token).await.json().await.unwrap();
    let second = second["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        call_webhook(&app, "hooked", &first, now, "{\"n\":2}")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    rotate(&app, &app.admin_token).await;
    assert_eq!(
        call_webhook(&app, "hooked", &first, now, "{\"n\":3}")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call_webhook(&app, "hooked", &second, now, "{\"n\":4}")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let (_, runs) = app
        .get_json(Some(&app.admin_token), "/api/v1/pipelines/hooked/runs")
        .await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 3, "{runs}");
}

pub async fn a_cron_schedule_queues_runs_on_time(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "holdout", csv(50, 7, false)).await;
    dataset(&app, "telemetry", csv(50, 1, false)).await;
    let mut s = spec("nightly", "forensics", &trainer, json!({}));
    s["trigger"] = json!({ "cron": "*/2 * * * * *" });
    assert_eq!(create_pipeline(&app, s).await.status(), StatusCode::CREATED);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, runs) = app
            .get_json(Some(&app.admin_token), "/api/v1/pipelines/nightly/runs")
            .await;
        let items = runs["items"].as_array().unwrap();
        if let Some(run) = items.first() {
            assert!(
                run["trigger"].as_str().unwrap().starts_with("schedule "),
                "{run}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the schedule never fired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A receiver that refuses its first request, then records what it is sent.
async fn receiver() -> (
    String,
    Arc<Mutex<Vec<(String, String, String)>>>,
    actix_web::dev::ServerHandle,
) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let seen: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (state, counter) = (seen.clone(), calls.clone());
    let server = HttpServer::new(move || {
        let (state, counter) = (state.clone(), counter.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (state, counter) = (state.clone(), counter.clone());
            async move {
                if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    return HttpResponse::InternalServerError().finish();
                }
                let header = |n: &str| {
                    req.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let body = String::from_utf8_lossy(&body).into_owned();
                state.lock().unwrap().push((
                    header("x-caravan-timestamp"),
                    header("x-caravan-signature"),
                    body,
                ));
                HttpResponse::NoContent().finish()
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/events"), seen, handle)
}

pub async fn events_are_signed_and_retried_until_the_receiver_accepts_them(backend: Backend) {
    let app = app(backend).await;
    let (url, seen, handle) = receiver().await;
    let bad = app
        .post_json(
            &app.admin_token,
            "/api/v1/webhooks",
            json!({ "url": url, "events": ["model.exploded"] }),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let hook: Value = app
        .post_json(
            &app.admin_token,
            "/api/v1/webhooks",
            json!({ "url": url, "events": ["*"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    app.push_ok(&app.admin_token, "watched", "affine.onnx", None)
        .await;
    let alias = app
        .set_alias(
            &app.admin_token,
            "watched",
            "champion",
            json!({ "version": "1" }),
        )
        .await;
    assert_eq!(alias.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(30);
    let events: Vec<Value> = loop {
        let got = seen.lock().unwrap().clone();
        if got.len() >= 2 {
            for (ts, signature, body) in &got {
                assert_eq!(
                    signature,
                    &caravan_pipelines::webhook_signature(&secret, ts, body.as_bytes()),
                    "signed with the hook's secret"
                );
            }
            break got
                .iter()
                .map(|(_, _, b)| serde_json::from_str(b).unwrap())
                .collect();
        }
        assert!(Instant::now() < deadline, "events not delivered: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        types.contains(&"dev.caravan.model.version.created"),
        "{types:?}"
    );
    assert!(
        types.contains(&"dev.caravan.model.alias.changed"),
        "{types:?}"
    );
    let changed = events
        .iter()
        .find(|e| e["type"] == "dev.caravan.model.alias.changed")
        .unwrap();
    assert_eq!(changed["specversion"], "1.0");
    assert_eq!(changed["data"]["alias"], "champion");
    assert_eq!(changed["data"]["version"], 1);
    let id = hook["id"].as_str().unwrap();
    let (_, deliveries) = app
        .get_json(
            Some(&app.admin_token),
            &format!("/api/v1/webhooks/{id}/deliveries"),
        )
        .await;
    let items = deliveries["items"].as_array().unwrap();
    assert!(
        items.iter().all(|d| d["delivered_at"].is_string()),
        "{deliveries}"
    );
    assert!(
        items.iter().any(|d| d["attempts"] == 2),
        "the refused delivery was retried: {deliveries}"
    );
    handle.stop(true).await;
}
