//! Pipeline specs are checked before anything is stored.

use reqwest::StatusCode;
use serde_json::json;

use crate::pipeline_support::{app, create_pipeline, csv, dataset, spec, trainer};
use crate::support::{Backend, assert_error, spawn_app_with};

pub async fn specs_with_unknown_fields_bad_cron_or_missing_datasets_are_refused(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "telemetry", csv(20, 1, false)).await;
    dataset(&app, "holdout", csv(20, 2, false)).await;
    let good = spec("retrain", "fraud", &trainer, json!({}));
    let cases = [
        ("/train/comand", json!({}), "unknown field `comand`"),
        ("/trigger/cron", json!("at noon"), "trigger.cron"),
        (
            "/train/dataset",
            json!("nowhere"),
            "train.dataset: dataset nowhere does not exist",
        ),
        ("/evaluate/dataset", json!("nowhere"), "evaluate.dataset"),
        ("/evaluate/metric", json!("rmse"), "not a Binary metric"),
        ("/alias", json!("latest"), "alias"),
    ];
    for (pointer, value, needle) in cases {
        let mut bad = good.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            &mut bad
        } else {
            bad.pointer_mut(parent).unwrap()
        };
        target[key] = value;
        let response = create_pipeline(&app, bad).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request", needle).await;
    }
    let (_, list) = app
        .get_json(Some(&app.admin_token), "/api/v1/pipelines")
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing stored");
    assert_eq!(
        create_pipeline(&app, good.clone()).await.status(),
        StatusCode::CREATED
    );
    assert_error(
        create_pipeline(&app, good).await,
        StatusCode::CONFLICT,
        "conflict",
        "exists",
    )
    .await;
}

pub async fn mappings_that_do_not_fit_the_dataset_or_the_model_are_refused(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "telemetry", csv(20, 1, false)).await;
    dataset(&app, "holdout", csv(20, 2, false)).await;
    dataset(&app, "unlabelled", "a,b,c,d\n1,2,3,4\n".into()).await;
    dataset(&app, "wordy", "a,b,c,d,label\n1,x,3,4,1\n".into()).await;
    // The model exists and takes 4 features: a 2-column mapping does not fit it.
    app.push_ok(&app.admin_token, "narrow", "affine.onnx", None)
        .await;
    let mut narrow = spec("narrow", "narrow", &trainer, json!({}));
    narrow["evaluate"]["inputs"] = json!({ "x": ["a", "b"] });
    let response = create_pipeline(&app, narrow).await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_request", "").await;
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("takes 4 features") && message.contains("model narrow v1"),
        "{message}"
    );
    let mut no_label = spec("no-label", "fraud", &trainer, json!({}));
    no_label["evaluate"]["dataset"] = json!("unlabelled");
    let response = create_pipeline(&app, no_label).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "has no column \"label\"",
    )
    .await;
    let mut strings = spec("strings", "fraud", &trainer, json!({}));
    strings["evaluate"]["dataset"] = json!("wordy");
    let response = create_pipeline(&app, strings).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "column \"b\" is not numeric",
    )
    .await;
}

pub async fn only_admins_define_command_trainers_and_a_setting_turns_them_off(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "telemetry", csv(20, 1, false)).await;
    dataset(&app, "holdout", csv(20, 2, false)).await;
    let user = app.user("publisher").await;
    let response = app
        .post_json(
            &user,
            "/api/v1/pipelines",
            spec("mine", "fraud", &trainer, json!({})),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden", "only admins").await;

    let locked = spawn_app_with(backend, |s| s.pipelines.command_trainers = false).await;
    dataset(&locked, "telemetry", csv(20, 1, false)).await;
    dataset(&locked, "holdout", csv(20, 2, false)).await;
    let response = create_pipeline(&locked, spec("mine", "fraud", &trainer, json!({}))).await;
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "forbidden",
        "pipelines.command_trainers",
    )
    .await;
}

pub async fn specs_may_be_yaml(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    dataset(&app, "telemetry", csv(20, 1, false)).await;
    dataset(&app, "holdout", csv(20, 2, false)).await;
    let yaml = format!(
        "name: from-yaml\nmodel: fraud\ntrigger:\n  dataset: telemetry\ntrain:\n  dataset: telemetry\n  command:\n    argv: [python3, {}, '{{dataset}}', '{{output}}', '{{params}}']\n",
        trainer.script
    );
    let send = |body: String| {
        app.client
            .post(app.url("/api/v1/pipelines"))
            .bearer_auth(&app.admin_token)
            .header("content-type", "application/yaml")
            .body(body)
            .send()
    };
    let created = send(yaml).await.unwrap();
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
    let (_, pipeline) = app
        .get_json(Some(&app.admin_token), "/api/v1/pipelines/from-yaml")
        .await;
    assert_eq!(pipeline["spec"]["train"]["command"]["argv"][2], "{dataset}");
    let broken = send("name: [unclosed".into()).await.unwrap();
    assert_error(
        broken,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "not valid YAML",
    )
    .await;
    let unknown = send("name: x\nmodel: y\ntrain: {dataset: telemetry, comand: {}}\n".into())
        .await
        .unwrap();
    assert_error(
        unknown,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "unknown field `comand`",
    )
    .await;
}
