//! Runs end to end: a new dataset version retrains, evaluates and promotes by hot swap while
//! clients keep calling; bad trainers fail runs without moving the alias.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pipeline_support::{
    alias_version, app, create_pipeline, csv, dataset, finished_run, infer, spec, train_log,
    trainer,
};
use crate::support::Backend;

pub async fn a_new_dataset_version_retrains_evaluates_and_promotes_without_failed_requests(
    backend: Backend,
) {
    let app = app(backend).await;
    let trainer = trainer();
    // Version 1 of the training data teaches the opposite of the truth; the holdout is right.
    dataset(&app, "holdout", csv(400, 7, false)).await;
    dataset(&app, "telemetry", csv(300, 1, true)).await;
    let created = create_pipeline(
        &app,
        spec("retrain", "forensics", &trainer, json!({ "whoami": true })),
    )
    .await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
    let (_, runs) = app
        .get_json(Some(&app.admin_token), "/api/v1/pipelines/retrain/runs")
        .await;
    assert_eq!(
        runs["items"].as_array().unwrap().len(),
        0,
        "creating a pipeline starts nothing"
    );

    // The first version nobody serves yet: trained by hand, promoted without a comparison.
    let started = app
        .post_json(
            &app.admin_token,
            "/api/v1/pipelines/retrain/runs",
            json!({}),
        )
        .await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let first = finished_run(&app, "retrain", 1).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["outcome"]["decision"]["promoted"], true, "{first}");
    assert_eq!(alias_version(&app, "forensics", "champion").await, Some(1));
    let log = train_log(&app, "retrain", &first).await;
    assert!(log.contains("trained on 300 rows"), "{log}");
    if caravan_pipelines::sandbox::running_as_root() {
        assert!(
            log.contains("uid=65534"),
            "a trainer never runs as root: {log}"
        );
    }

    // Clients call the champion without pause while a new dataset version arrives.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (app_base, token, stop, ok, failed) = (
            app.base.clone(),
            app.admin_token.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
        );
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let body = json!({ "inputs": [{ "name": "X", "shape": [1, 4], "datatype": "FP32", "data": [0.5, 0.2, -0.3, 0.0] }] });
            while !stop.load(Ordering::SeqCst) {
                let answer = client
                    .post(format!("{app_base}/v2/models/forensics/infer"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().is_success() => ok.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        })
    };
    // No other call: the upload alone starts the run.
    dataset(&app, "telemetry", csv(300, 2, false)).await;
    let second = finished_run(&app, "retrain", 2).await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(second["trigger"], "dataset telemetry v2");
    assert_eq!(second["outcome"]["decision"]["promoted"], true, "{second}");
    let (cand, inc) = (
        &second["outcome"]["candidate_metrics"],
        &second["outcome"]["incumbent_metrics"],
    );
    assert!(
        cand["f1"].as_f64().unwrap() > inc["f1"].as_f64().unwrap(),
        "{second}"
    );
    assert!(cand["roc_auc"].as_f64().unwrap() > 0.9, "{cand}");
    assert_eq!(alias_version(&app, "forensics", "champion").await, Some(2));
    assert_eq!(infer(&app, "forensics").await.unwrap(), "2");
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "no request failed during the swap ({} ok)",
        ok.load(Ordering::SeqCst)
    );
    assert!(ok.load(Ordering::SeqCst) > 0);

    let (status, lineage) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/models/forensics/versions/2/lineage",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lineage}");
    assert_eq!(lineage["pipeline"], "retrain");
    assert_eq!(lineage["dataset"], "telemetry");
    assert_eq!(lineage["dataset_version"], 2);
    assert_eq!(lineage["compared_with"], 1);
    assert_eq!(lineage["run_id"], second["id"]);
    assert!(
        lineage["metrics"]["candidate"]["f1"].is_number(),
        "{lineage}"
    );

    // A worse trainer leaves the champion where it is, and says why.
    let worse = spec(
        "retrain-worse",
        "forensics",
        &trainer,
        json!({ "worse": true }),
    );
    let mut worse = worse;
    worse["trigger"] = json!({});
    assert_eq!(
        create_pipeline(&app, worse).await.status(),
        StatusCode::CREATED
    );
    app.post_json(
        &app.admin_token,
        "/api/v1/pipelines/retrain-worse/runs",
        json!({}),
    )
    .await;
    let kept = finished_run(&app, "retrain-worse", 1).await;
    assert_eq!(kept["status"], "succeeded", "{kept}");
    assert_eq!(kept["outcome"]["decision"]["promoted"], false, "{kept}");
    let reason = kept["outcome"]["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("does not beat") && reason.contains("champion stays on v2"),
        "{reason}"
    );
    assert_eq!(alias_version(&app, "forensics", "champion").await, Some(2));
}

/// Runs `params` through a manual run of a fresh pipeline; returns the finished run.
async fn run_with(
    app: &crate::support::TestApp,
    trainer: &crate::pipeline_support::Trainer,
    name: &str,
    params: Value,
    timeout_secs: u64,
) -> Value {
    let mut s = spec(name, "forensics", trainer, params);
    s["trigger"] = json!({});
    s["train"]["command"]["timeout_secs"] = json!(timeout_secs);
    let created = create_pipeline(app, s).await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
    app.post_json(
        &app.admin_token,
        &format!("/api/v1/pipelines/{name}/runs"),
        json!({}),
    )
    .await;
    finished_run(app, name, 1).await
}

pub async fn failing_hanging_and_bad_trainers_fail_the_run_and_leave_the_alias(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "holdout", csv(100, 7, false)).await;
    dataset(&app, "telemetry", csv(100, 1, false)).await;
    let good = run_with(&app, &trainer, "good", json!({}), 60).await;
    assert_eq!(good["status"], "succeeded", "{good}");
    let cases = [
        (
            "fails",
            json!({ "fail": true }),
            60,
            "exited with exit status: 3",
        ),
        (
            "hangs",
            json!({ "hang": true, "spawn": true }),
            2,
            "past its timeout of 2 s",
        ),
        (
            "garbage",
            json!({ "garbage": true }),
            60,
            "a model Caravan refuses",
        ),
        (
            "nothing",
            json!({ "nothing": true }),
            60,
            "wrote no ONNX file",
        ),
    ];
    for (name, params, timeout, needle) in cases {
        let run = run_with(&app, &trainer, name, params, timeout).await;
        assert_eq!(run["status"], "failed", "{run}");
        let error = run["error"].as_str().unwrap();
        assert!(error.contains(needle), "{name}: {error}");
        let train = &run["state"]["steps"][0];
        assert_eq!(train["status"], "failed", "{run}");
        assert_eq!(
            alias_version(&app, "forensics", "champion").await,
            Some(1),
            "{name} moved the alias"
        );
    }
    let (_, model) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/forensics")
        .await;
    assert_eq!(
        model["versions"].as_array().unwrap().len(),
        1,
        "no half-made version: {model}"
    );
    // The hanging trainer's child was stopped with it.
    let hung = finished_run(&app, "hangs", 1).await;
    let hung_log = train_log(&app, "hangs", &hung).await;
    let child: u32 = hung_log
        .lines()
        .find_map(|l| l.strip_prefix("child="))
        .expect("the child's pid")
        .parse()
        .unwrap();
    assert!(
        !crate::support::browser::running(child),
        "the trainer's child {child} outlived it"
    );
    let failing = finished_run(&app, "fails", 1).await;
    assert!(
        train_log(&app, "fails", &failing)
            .await
            .contains("failed on purpose")
    );
}

pub async fn a_running_trainer_can_be_cancelled(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "holdout", csv(50, 7, false)).await;
    dataset(&app, "telemetry", csv(50, 1, false)).await;
    let mut s = spec("stuck", "forensics", &trainer, json!({ "hang": true }));
    s["trigger"] = json!({});
    assert_eq!(create_pipeline(&app, s).await.status(), StatusCode::CREATED);
    let run: Value = app
        .post_json(&app.admin_token, "/api/v1/pipelines/stuck/runs", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let id = run["id"].as_str().unwrap().to_owned();
    // Wait until the trainer runs, then cancel it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, now) = app
            .get_json(
                Some(&app.admin_token),
                &format!("/api/v1/pipelines/stuck/runs/{id}"),
            )
            .await;
        if now["state"]["steps"][0]["status"] == "running" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let cancel = app
        .post_json(
            &app.admin_token,
            &format!("/api/v1/pipelines/stuck/runs/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    let ended = finished_run(&app, "stuck", 1).await;
    assert_eq!(ended["status"], "cancelled", "{ended}");
    assert_eq!(ended["state"]["steps"][0]["status"], "cancelled");
}

pub async fn a_scoring_pipeline_writes_the_rows_with_their_predictions_as_a_new_dataset(
    backend: Backend,
) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "holdout", csv(100, 7, false)).await;
    dataset(&app, "telemetry", csv(200, 1, false)).await;
    let trained = run_with(&app, &trainer, "train", json!({}), 60).await;
    assert_eq!(trained["status"], "succeeded", "{trained}");
    dataset(&app, "incoming", csv(5, 9, false)).await;
    let score = json!({
        "name": "nightly-scoring", "model": "forensics",
        "trigger": { "dataset": "incoming" },
        "score": { "dataset": "incoming", "inputs": { "X": ["a", "b", "c", "d"] }, "output_dataset": "incoming-scored", "batch_rows": 2 },
    });
    let created = app
        .post_json(&app.admin_token, "/api/v1/pipelines", score)
        .await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
    // A new version of the input is scored without any other call.
    let text = csv(1001, 10, false);
    dataset(&app, "incoming", text).await;
    let run = finished_run(&app, "nightly-scoring", 1).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = &run["state"]["steps"][0]["details"];
    assert_eq!(report["rows"], 1001, "{run}");
    assert_eq!(report["input_version"], 2);
    assert_eq!(report["model_version"], 1);
    let (_, scored) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/datasets/incoming-scored/versions/latest",
        )
        .await;
    assert_eq!(scored["schema"]["rows"], 1001, "{scored}");
    let columns: Vec<&str> = scored["schema"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "a",
            "b",
            "c",
            "d",
            "label",
            "predicted_label",
            "predicted_probabilities_0",
            "predicted_probabilities_1"
        ]
    );
    let kinds: Vec<&str> = scored["schema"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[5..], ["integer", "float", "float"], "{scored}");
    let (_, preview) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/datasets/incoming-scored/versions/latest/preview?rows=500",
        )
        .await;
    for row in preview["rows"].as_array().unwrap() {
        let label: i64 = row[5].as_str().unwrap().parse().unwrap();
        let p1: f64 = row[7].as_str().unwrap().parse().unwrap();
        assert_eq!(label, i64::from(p1 > 0.5), "{row}");
    }
    // A row that is not a number fails the run and names its line.
    dataset(
        &app,
        "incoming",
        "a,b,c,d,label\n1,2,3,4,1\n1,x,3,4,0\n".into(),
    )
    .await;
    let failed = finished_run(&app, "nightly-scoring", 2).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("line 3") && error.contains("\"x\""),
        "{error}"
    );
    let (_, versions) = app
        .get_json(Some(&app.admin_token), "/api/v1/datasets/incoming-scored")
        .await;
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
}
