//! Parquet datasets: sniffed from their footer and data, usable for evaluation and scoring.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch, types::Int32Type,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::pipeline_support::{
    alias_version, app, create_pipeline, csv, dataset, finished_run, spec, trainer,
};
use crate::support::{Backend, TestApp, assert_error};

/// The rows of `csv(rows, seed, false)` as Parquet (a-d as doubles, label as int64).
fn parquet(rows: usize, seed: u64) -> Vec<u8> {
    let text = csv(rows, seed, false);
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); 5];
    for line in text.lines().skip(1) {
        for (i, cell) in line.split(',').enumerate() {
            columns[i].push(cell.parse().unwrap());
        }
    }
    let mut fields: Vec<Field> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| Field::new(*n, DataType::Float64, false))
        .collect();
    fields.push(Field::new("label", DataType::Int64, false));
    let mut arrays: Vec<ArrayRef> = columns[..4]
        .iter()
        .map(|c| Arc::new(Float64Array::from(c.clone())) as ArrayRef)
        .collect();
    arrays.push(Arc::new(Int64Array::from(
        columns[4].iter().map(|&v| v as i64).collect::<Vec<_>>(),
    )));
    write(Schema::new(fields), arrays)
}

fn write(schema: Schema, arrays: Vec<ArrayRef>) -> Vec<u8> {
    let schema = Arc::new(schema);
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(bytes).file_name("data.parquet"),
    );
    app.client
        .post(app.url(&format!("/api/v1/datasets/{name}/versions")))
        .bearer_auth(&app.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub async fn parquet_datasets_are_sniffed_and_used_for_evaluation_and_scoring(backend: Backend) {
    let app = app(backend).await;
    let trainer = trainer();
    let created = upload(&app, "holdout", parquet(300, 7)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let version: Value = created.json().await.unwrap();
    assert_eq!(version["format"], "parquet");
    assert_eq!(version["schema"]["rows"], 300);
    let kinds: Vec<&str> = version["schema"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["float", "float", "float", "float", "integer"]);
    let (_, preview) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/datasets/holdout/versions/1/preview?rows=2",
        )
        .await;
    assert_eq!(preview["columns"][4], "label");
    assert_eq!(preview["rows"].as_array().unwrap().len(), 2);

    // Training data as CSV (the trainer reads CSV); evaluation on the Parquet holdout.
    dataset(&app, "telemetry", csv(200, 1, false)).await;
    let mut s = spec("retrain", "forensics", &trainer, json!({}));
    s["trigger"] = json!({});
    assert_eq!(create_pipeline(&app, s).await.status(), StatusCode::CREATED);
    app.post_json(
        &app.admin_token,
        "/api/v1/pipelines/retrain/runs",
        json!({}),
    )
    .await;
    let run = finished_run(&app, "retrain", 1).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(
        run["outcome"]["candidate_metrics"]["f1"].as_f64().unwrap() > 0.8,
        "{run}"
    );
    assert_eq!(alias_version(&app, "forensics", "champion").await, Some(1));

    // Scoring a Parquet file writes its rows and the predictions.
    let score = json!({
        "name": "score", "model": "forensics",
        "score": { "dataset": "holdout", "inputs": { "X": ["a", "b", "c", "d"] }, "output_dataset": "holdout-scored" },
    });
    assert_eq!(
        app.post_json(&app.admin_token, "/api/v1/pipelines", score)
            .await
            .status(),
        StatusCode::CREATED
    );
    app.post_json(&app.admin_token, "/api/v1/pipelines/score/runs", json!({}))
        .await;
    let scored = finished_run(&app, "score", 1).await;
    assert_eq!(scored["status"], "succeeded", "{scored}");
    let (_, out) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/datasets/holdout-scored/versions/latest",
        )
        .await;
    assert_eq!(out["schema"]["rows"], 300, "{out}");
}

pub async fn nested_and_broken_parquet_files_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = app(backend).await;
    let list =
        ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), Some(2)])]);
    let schema = Schema::new(vec![Field::new("tags", list.data_type().clone(), true)]);
    let nested = write(schema, vec![Arc::new(list)]);
    assert_error(
        upload(&app, "nested", nested).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "only flat columns",
    )
    .await;
    let mut truncated = parquet(10, 1);
    truncated.truncate(truncated.len() / 2);
    assert_error(
        upload(&app, "broken", truncated).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "not a readable Parquet file",
    )
    .await;
    app.assert_nothing_stored().await;
}
