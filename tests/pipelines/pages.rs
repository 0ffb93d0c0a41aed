//! The pipelines pages of the web UI.

use reqwest::StatusCode;
use serde_json::json;

use crate::pipeline_support::{app, create_pipeline, csv, dataset, finished_run, spec, trainer};
use crate::support::{ADMIN_PASSWORD, Backend};
use crate::ui_client::UiClient;

pub async fn the_pipelines_pages_show_runs_and_start_one_with_a_form(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "holdout", csv(50, 7, false)).await;
    dataset(&app, "telemetry", csv(50, 1, false)).await;
    let mut s = spec("retrain", "forensics", &trainer, json!({}));
    s["trigger"] = json!({ "dataset": "telemetry" });
    assert_eq!(create_pipeline(&app, s).await.status(), StatusCode::CREATED);
    app.post_json(
        &app.admin_token,
        "/api/v1/pipelines/retrain/runs",
        json!({}),
    )
    .await;
    finished_run(&app, "retrain", 1).await;

    let mut ui = UiClient::new(&app.base);
    assert_eq!(
        ui.get("/pipelines").await.status,
        StatusCode::SEE_OTHER,
        "signed-in users only"
    );
    ui.sign_in("admin", ADMIN_PASSWORD).await;
    let list = ui.get("/pipelines").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.html.contains("retrain") && list.html.contains("succeeded"),
        "{}",
        list.html
    );
    assert!(list.html.contains("new versions of telemetry"));
    let detail = ui.get("/pipelines/retrain").await;
    assert!(
        detail.html.contains("no version holds champion yet"),
        "{}",
        detail.html
    );
    let csrf = ui.csrf.clone();
    assert_eq!(
        ui.post("/pipelines/retrain/runs", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let started = ui.post("/pipelines/retrain/runs", &[("csrf", &csrf)]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let second = finished_run(&app, "retrain", 2).await;
    assert_eq!(second["trigger"], "manual");
    assert_eq!(
        ui.get("/pipelines/nowhere").await.status,
        StatusCode::NOT_FOUND
    );
}
