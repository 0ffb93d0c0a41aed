//! Two replicas with workers on one PostgreSQL database: the run limit is global, a schedule
//! fires once, and an event is delivered once, whichever replica's worker gets there first.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pipeline_support::{
    app_with, create_pipeline, csv, dataset, finished_run, spec, trainer,
};
use crate::support::{Backend, TestApp};

/// Replica A and replica B over A's database and storage, each with one run worker.
async fn two_replicas() -> (TestApp, TestApp) {
    let a = app_with(Backend::Postgres, |s| s.pipelines.max_concurrent_runs = 1).await;
    let (data_dir, database) = (a.data_dir.clone(), a.database_url.clone());
    let b = app_with(Backend::Postgres, move |s| {
        s.data_dir = data_dir;
        s.database.url = database.into();
        s.pipelines.max_concurrent_runs = 1;
    })
    .await;
    (a, b)
}

fn time(run: &Value, field: &str) -> DateTime<Utc> {
    run[field].as_str().unwrap().parse().unwrap()
}

async fn runs(app: &TestApp, pipeline: &str) -> Vec<Value> {
    let (status, runs) = app
        .get_json(
            Some(&app.admin_token),
            &format!("/api/v1/pipelines/{pipeline}/runs"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    runs["items"].as_array().unwrap().clone()
}

pub async fn runs_queued_on_both_replicas_never_run_two_at_once_with_a_limit_of_one() {
    let (a, b) = two_replicas().await;
    let trainer = trainer();
    dataset(&a, "telemetry", csv(200, 1, false)).await;
    let mut s = spec("limited", "forensics", &trainer, json!({}));
    s["trigger"] = json!({});
    s["evaluate"] = Value::Null;
    assert_eq!(create_pipeline(&a, s).await.status(), StatusCode::CREATED);
    // Queued through both: each replica's idle worker is woken and tries to claim.
    for app in [&a, &b, &a, &b] {
        let queued = app
            .post_json(
                &app.admin_token,
                "/api/v1/pipelines/limited/runs",
                json!({}),
            )
            .await;
        assert_eq!(queued.status(), StatusCode::ACCEPTED);
    }
    let mut ended = Vec::new();
    for number in 1..=4 {
        ended.push(finished_run(&b, "limited", number).await);
    }
    assert!(
        ended.iter().all(|r| r["status"] == "succeeded"),
        "{ended:?}"
    );
    ended.sort_by_key(|r| time(r, "started_at"));
    for pair in ended.windows(2) {
        assert!(
            time(&pair[1], "started_at") >= time(&pair[0], "finished_at"),
            "two runs at once: {} and {}",
            pair[0],
            pair[1]
        );
    }
}

pub async fn a_cron_schedule_fires_once_across_both_replicas() {
    let (a, b) = two_replicas().await;
    let trainer = trainer();
    dataset(&a, "telemetry", csv(50, 1, false)).await;
    let mut s = spec("nightly", "forensics", &trainer, json!({}));
    s["trigger"] = json!({ "cron": "* * * * * *" });
    s["evaluate"] = Value::Null;
    assert_eq!(create_pipeline(&b, s).await.status(), StatusCode::CREATED);
    // Both schedulers look every second; every firing must have become at most one run.
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let listed = runs(&a, "nightly").await;
        if listed.len() >= 4 {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "the schedule fired too rarely: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut triggers: Vec<&str> = listed
        .iter()
        .map(|r| r["trigger"].as_str().unwrap())
        .collect();
    assert!(
        triggers.iter().all(|t| t.starts_with("schedule ")),
        "{triggers:?}"
    );
    let all = triggers.len();
    triggers.sort();
    triggers.dedup();
    assert_eq!(triggers.len(), all, "a firing queued twice: {listed:?}");
}

pub async fn an_event_is_delivered_once_across_both_replicas() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let (a, b) = two_replicas().await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let state = seen.clone();
    let server = HttpServer::new(move || {
        let state = state.clone();
        App::new().default_service(web::to(move |body: web::Bytes| {
            let state = state.clone();
            async move {
                let event: Value = serde_json::from_slice(&body).unwrap();
                state
                    .lock()
                    .unwrap()
                    .push(event["id"].as_str().unwrap().to_owned());
                HttpResponse::NoContent().finish()
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let url = format!("http://127.0.0.1:{}/events", server.addrs()[0].port());
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    let hook = a
        .post_json(
            &a.admin_token,
            "/api/v1/webhooks",
            json!({ "url": url, "events": ["dev.caravan.model.version.created"] }),
        )
        .await;
    assert_eq!(hook.status(), StatusCode::CREATED);
    let hook: Value = hook.json().await.unwrap();
    // Six events, written through both replicas; both delivery workers poll the outbox.
    for (i, app) in [&a, &b, &a, &b, &a, &b].into_iter().enumerate() {
        app.push_ok(
            &app.admin_token,
            &format!("watched-{i}"),
            "affine.onnx",
            None,
        )
        .await;
    }
    let id = hook["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let deliveries = loop {
        let (_, deliveries) = b
            .get_json(
                Some(&b.admin_token),
                &format!("/api/v1/webhooks/{id}/deliveries"),
            )
            .await;
        let items = deliveries["items"].as_array().unwrap().clone();
        if items.len() == 6 && items.iter().all(|d| d["delivered_at"].is_string()) {
            break items;
        }
        assert!(Instant::now() < deadline, "not all delivered: {deliveries}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        deliveries.iter().all(|d| d["attempts"] == 1),
        "{deliveries:?}"
    );
    // Marked delivered, nothing is claimed again: what arrived is all that will.
    let mut got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 6, "{got:?}");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 6, "an event arrived twice");
    handle.stop(true).await;
}
