//! `/metrics` answers admins and the scraper token in full, other users with the series of
//! the models they can see, anonymous callers only when allowed (public models only), and
//! never grows a series per made-up HTTP method.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_error, spawn_app_with};

const SCRAPER: &str = "scraper-token-for-tests-0123456789";

fn request() -> Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}] })
}

/// Three models that each answered one request: the admin's public and private ones, and
/// alice's private one. Returns alice's session.
async fn three_served_models(app: &TestApp) -> String {
    let alice = app.user("alice").await;
    let admin = app.admin_token.clone();
    for (token, model, visibility) in [
        (&admin, "open-model", "public"),
        (&admin, "admins-private", "private"),
        (&alice, "alices-secret", "private"),
    ] {
        let metadata = json!({ "visibility": visibility }).to_string();
        app.push_ok(token, model, "affine.onnx", Some(&metadata))
            .await;
        let answered = app.infer_json(Some(token), model, None, &request()).await;
        assert_eq!(answered.status(), StatusCode::OK, "{model}");
    }
    alice
}

async fn metrics(app: &TestApp, token: Option<&str>) -> String {
    let response = app.get(token, "/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

fn names(text: &str, model: &str) -> bool {
    text.contains(&format!("model=\"{model}\""))
}

pub async fn metrics_need_an_admin_or_the_scraper_token(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.metrics.token = SCRAPER.to_owned().into()).await;
    let alice = three_served_models(&app).await;
    assert_error(
        app.get(None, "/metrics").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "scraper token",
    )
    .await;
    let wrong = app.get(Some("not-the-scraper-token"), "/metrics").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    for token in [SCRAPER, app.admin_token.as_str()] {
        let all = metrics(&app, Some(token)).await;
        for model in ["open-model", "admins-private", "alices-secret"] {
            assert!(names(&all, model), "{model} in the full view");
        }
    }
    let hers = metrics(&app, Some(&alice)).await;
    assert!(names(&hers, "open-model") && names(&hers, "alices-secret"));
    assert!(
        !hers.contains("admins-private"),
        "another user's private model"
    );
    assert!(
        hers.contains("caravan_http_requests_total"),
        "series that name no model stay"
    );
}

pub async fn anonymous_metrics_when_allowed_name_public_models_only(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.metrics.anonymous = true).await;
    three_served_models(&app).await;
    let public = metrics(&app, None).await;
    assert!(names(&public, "open-model"));
    assert!(!public.contains("admins-private") && !public.contains("alices-secret"));
}

pub async fn model_labels_can_be_turned_off_for_everyone(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.metrics.model_labels = false).await;
    three_served_models(&app).await;
    let text = metrics(&app, Some(&app.admin_token)).await;
    assert!(!text.contains("model=\""), "no series names a model");
    assert!(text.contains("caravan_loaded_versions 3"), "{text}");
}

pub async fn made_up_http_methods_share_one_series(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url("/api/v1/models"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
    }
    let text = metrics(&app, Some(&app.admin_token)).await;
    assert!(!text.contains("BREW"), "no series per made-up method");
    assert!(text.contains("method=\"OTHER\""));
}

/// Runs `promtool check metrics` over a rendering; its complaints, if any.
fn promtool_complaints(text: &str) -> Option<String> {
    use std::io::Write;
    let promtool = std::env::var("CARAVAN_TEST_PROMTOOL")
        .expect("CARAVAN_TEST_PROMTOOL names promtool (scripts/install-promtool.sh prints it)");
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (!out.status.success() || !said.trim().is_empty()).then_some(said)
}

pub async fn every_metric_family_passes_prometheus_lint(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let alice = three_served_models(&app).await;
    // A refused inference too, so that a client error's series is in the rendering.
    let bad = json!({ "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}] });
    let refused = app
        .infer_json(Some(&alice), "alices-secret", None, &bad)
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    for token in [app.admin_token.as_str(), alice.as_str()] {
        let text = metrics(&app, Some(token)).await;
        for family in [
            "caravan_http_requests_total",
            "caravan_http_request_duration_seconds",
            "caravan_inference_requests_total",
            "caravan_inference_duration_seconds",
            "caravan_loaded_versions",
        ] {
            assert!(
                text.contains(&format!("# HELP {family} ")),
                "{family}: {text}"
            );
        }
        assert_eq!(promtool_complaints(&text), None, "{text}");
    }
    // The lint is not vacuous: a family without its help text is flagged.
    let stripped: String = metrics(&app, Some(&app.admin_token))
        .await
        .lines()
        .filter(|l| !l.starts_with("# HELP"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(promtool_complaints(&stripped).is_some());
}
