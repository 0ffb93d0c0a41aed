//! Serving the file the runner was started with.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    caravan_binary, fixture_path,
    runner::{spawn_runner, try_spawn_runner},
    v2::decode_response,
};

fn request(x: f32) -> serde_json::Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x, x, x, x]}] })
}

pub async fn a_runner_serves_its_file_over_v2_with_health_and_metrics() {
    let runner = spawn_runner("fraud", "affine.onnx", None).await;
    let (status, ready) = runner.get_json("/readyz").await;
    assert_eq!(
        (status, ready["revision"].as_i64()),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(runner.get_json("/healthz").await.0, StatusCode::OK);
    assert_eq!(runner.get_json("/v2/health/ready").await.0, StatusCode::OK);

    let (status, model) = runner.get_json("/model").await;
    assert_eq!(status, StatusCode::OK);
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        crate::support::fixture("affine.onnx"),
    ));
    assert_eq!(model["sha256"], json!(sha256));
    assert_eq!(model["source"]["kind"], json!("file"));
    assert_eq!(model["revision"], json!(1));

    let (status, metadata) = runner.get_json("/v2/models/fraud").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["versions"], json!(["1"]));
    assert_eq!(metadata["inputs"][0]["name"], json!("x"));
    for version in [None, Some("1"), Some("latest"), Some("champion")] {
        let result = decode_response(runner.infer("fraud", version, &request(2.0)).await).await;
        assert_eq!(result.status, StatusCode::OK, "{version:?}");
        // affine.onnx computes 2x + 1.
        assert_eq!(result.output("y").data[0].as_f64(), Some(5.0));
        assert_eq!(result.version(), "1");
    }
    let (status, config) = runner.get_json("/v2/models/fraud/config").await;
    assert_eq!(
        (status, config["name"].as_str()),
        (StatusCode::OK, Some("fraud"))
    );
    let (_, stats) = runner.get_json("/v2/models/fraud/stats").await;
    assert_eq!(stats["model_stats"][0]["inference_count"], json!(4));

    let text = runner
        .client
        .get(runner.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"caravan_inference_requests_total{model="fraud",version="1"} 4"#),
        "{text}"
    );
}

pub async fn other_names_and_versions_are_404_and_repository_control_is_refused() {
    let runner = spawn_runner("fraud", "affine.onnx", None).await;
    let other = runner.infer("other", None, &request(1.0)).await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let wrong_version = runner.infer("fraud", Some("2"), &request(1.0)).await;
    assert_eq!(wrong_version.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = wrong_version.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("revision 1"),
        "{body}"
    );
    let bad_input = runner
        .infer("fraud", None, &json!({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}))
        .await;
    assert_eq!(bad_input.status(), StatusCode::BAD_REQUEST);

    let index = runner
        .client
        .post(runner.url("/v2/repository/index"))
        .send()
        .await
        .unwrap();
    let rows: serde_json::Value = index.json().await.unwrap();
    assert_eq!(
        rows,
        json!([{"name": "fraud", "version": "1", "state": "LOADED", "reason": ""}])
    );
    for action in ["load", "unload"] {
        let control = runner
            .client
            .post(runner.url(&format!("/v2/repository/models/fraud/{action}")))
            .send()
            .await
            .unwrap();
        assert!(
            control.status().is_client_error(),
            "{action}: {}",
            control.status()
        );
    }
    // Still served after all of that.
    let result = decode_response(runner.infer("fraud", None, &request(1.0)).await).await;
    assert_eq!(result.status, StatusCode::OK);
}

pub async fn a_file_that_is_not_a_servable_model_stops_the_runner_at_start() {
    for (fixture, why) in [
        ("external_data.onnx", "external file"),
        ("unknown_op.onnx", "refused"),
    ] {
        let error = try_spawn_runner("m", fixture, None)
            .await
            .err()
            .unwrap_or_else(|| panic!("{fixture} must not start a runner"));
        let text = format!("{error:#}");
        assert!(text.contains(why), "{fixture}: {text}");
    }
    // The real binary says why on standard error and exits non-zero, serving nothing.
    let output = tokio::process::Command::new(caravan_binary())
        .args(["runner", "--bind", "127.0.0.1:0", "--model"])
        .arg(fixture_path("external_data.onnx"))
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("external file"), "{stderr}");
}

pub async fn a_runner_answers_the_acumos_model_runner_surface_at_its_root() {
    let runner = spawn_runner(
        "forensics",
        "cloud-forensics/cloud_forensics_mlp.onnx",
        None,
    )
    .await;
    let response = runner
        .client
        .post(runner.url("/model/methods/predict"))
        .header("accept", "*/*")
        .json(&serde_json::json!({ "X": vec![0.5; 40] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        answer["probabilities"].as_array().unwrap().len(),
        4,
        "{answer}"
    );
    assert_eq!(answer["label"].as_array().unwrap().len(), 2, "{answer}");
    let proto = runner
        .client
        .get(runner.url("/model/artifacts/protobuf"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(proto.contains("package caravan.forensics;"), "{proto}");
    let (status, metadata) = runner.get_json("/model/artifacts/metadata").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        metadata["methods"]["predict"]["output"]["name"],
        "PredictOut"
    );
    let (status, _) = runner.get_json("/model/methods/predict").await;
    assert_eq!(status, reqwest::StatusCode::METHOD_NOT_ALLOWED);
}
