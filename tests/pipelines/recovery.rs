//! A run whose worker died is taken over and its interrupted step runs again; a candidate whose
//! signature differs from the incumbent's never takes the alias.

use caravan_catalog::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pipeline_support::{
    alias_version, app, create_pipeline, csv, dataset, finished_run, spec, trainer,
};
use crate::support::{Backend, caravan_binary, spawn_app_with};

pub async fn a_run_left_by_a_dead_worker_is_taken_over_and_its_step_runs_again(backend: Backend) {
    // The first instance runs no workers: it queues the run, and plays a worker that claims it,
    // starts the train step, and dies.
    let first = spawn_app_with(backend, |s| s.pipelines.enabled = false).await;
    let trainer = trainer();
    dataset(&first, "holdout", csv(50, 7, false)).await;
    dataset(&first, "telemetry", csv(50, 1, false)).await;
    let mut s = spec("resumed", "forensics", &trainer, json!({}));
    s["trigger"] = json!({});
    assert_eq!(
        create_pipeline(&first, s).await.status(),
        StatusCode::CREATED
    );
    let run: Value = first
        .post_json(
            &first.admin_token,
            "/api/v1/pipelines/resumed/runs",
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let catalog = &first.app_core.catalog_for_tests();
    let claimed = catalog
        .claim_run(Timestamp::now(), Timestamp::now(), 1)
        .await
        .unwrap()
        .expect("the queued run");
    assert_eq!(claimed.id.to_string(), run["id"].as_str().unwrap());
    let running = json!({ "steps": [
        { "kind": "train", "status": "running", "attempts": 1, "started_at": chrono::Utc::now(), "finished_at": null, "log": null, "error": null, "details": null },
        { "kind": "evaluate", "status": "pending", "attempts": 0, "started_at": null, "finished_at": null, "log": null, "error": null, "details": null },
        { "kind": "promote", "status": "pending", "attempts": 0, "started_at": null, "finished_at": null, "log": null, "error": null, "details": null },
    ] });
    catalog
        .save_run(claimed.id, claimed.attempt, &running, Timestamp::now())
        .await
        .unwrap();

    // A second instance with workers, on the same database and storage, takes the run over.
    let (data_dir, database) = (first.data_dir.clone(), first.database_url.clone());
    let second = spawn_app_with(backend, move |s| {
        s.data_dir = data_dir;
        s.database.url = database.into();
        s.pipelines.launcher = caravan_binary().display().to_string();
        s.pipelines.poll_secs = 1;
    })
    .await;
    let ended = finished_run(&second, "resumed", 1).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert_eq!(ended["attempt"], 2, "claimed twice: {ended}");
    let train = &ended["state"]["steps"][0];
    assert_eq!(
        train["attempts"], 2,
        "the interrupted step ran again: {ended}"
    );
    assert_eq!(
        alias_version(&second, "forensics", "champion").await,
        Some(1)
    );
}

pub async fn a_candidate_with_another_signature_never_takes_the_alias(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "telemetry", csv(50, 1, false)).await;
    // The champion takes x [N, 4] and gives y; the trainer makes X [N, 4] -> label, probabilities.
    app.push_ok(&app.admin_token, "forensics", "affine.onnx", None)
        .await;
    let alias = app
        .set_alias(
            &app.admin_token,
            "forensics",
            "champion",
            json!({ "version": "1" }),
        )
        .await;
    assert_eq!(alias.status(), StatusCode::OK);
    let mut s = spec("reshaped", "forensics", &trainer, json!({}));
    s["trigger"] = json!({});
    s["evaluate"] = Value::Null;
    assert_eq!(create_pipeline(&app, s).await.status(), StatusCode::CREATED);
    app.post_json(
        &app.admin_token,
        "/api/v1/pipelines/reshaped/runs",
        json!({}),
    )
    .await;
    let run = finished_run(&app, "reshaped", 1).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("promotion refused: the signature of v2 differs"),
        "{run}"
    );
    assert_eq!(alias_version(&app, "forensics", "champion").await, Some(1));
}
