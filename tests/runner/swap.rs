//! `PUT /model`: the authenticated hot swap. A new model is validated and warmed before it
//! takes over, so requests never fail because of a swap; a refused one changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    fixture, hostile,
    runner::{Load, spawn_runner},
    v2::decode_response,
};

const TOKEN: &str = "swap-token-for-tests";

fn request(x: f32) -> Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x, x, x, x]}] })
}

/// affine.onnx computes 2x + 1 and affine_v2.onnx 3x + 1.
fn expected(file: &str, x: f32) -> f64 {
    match file {
        "affine.onnx" => f64::from(2.0 * x + 1.0),
        "affine_v2.onnx" => f64::from(3.0 * x + 1.0),
        other => panic!("unexpected model {other}"),
    }
}

async fn served_revision(runner: &crate::support::runner::TestRunner) -> Value {
    runner.get_json("/model").await.1["revision"].clone()
}

pub async fn swaps_under_load_fail_no_request_and_each_answer_matches_its_revision() {
    let runner = Arc::new(spawn_runner("fraud", "affine.onnx", Some(TOKEN)).await);
    let load = Load::start(&runner, "fraud", 8);
    let mut files = HashMap::from([("1".to_string(), "affine.onnx")]);
    for swap in 0..20 {
        let file = if swap % 2 == 0 {
            "affine_v2.onnx"
        } else {
            "affine.onnx"
        };
        let swapped = runner.swap(Some(TOKEN), file, "").await;
        assert_eq!(swapped.status(), StatusCode::OK);
        let body: Value = swapped.json().await.unwrap();
        assert_eq!(body["revision"], json!(swap + 2));
        assert_eq!(body["source"]["kind"], json!("upload"));
        files.insert((swap + 2).to_string(), file);
    }
    let (failed, answers) = load.stop().await;
    assert_eq!(failed, 0, "no request failed");
    assert!(
        answers.len() >= 20,
        "the clients kept asking: {}",
        answers.len()
    );
    for answer in &answers {
        let file = files[answer.version.as_str()];
        assert_eq!(
            answer.y,
            expected(file, answer.x),
            "revision {} answers as {file}",
            answer.version
        );
    }
    let (_, stats) = runner.get_json("/v2/models/fraud/stats").await;
    assert_eq!(
        stats["model_stats"].as_array().unwrap().len(),
        1,
        "only the current one stays"
    );
}

pub async fn swapping_needs_the_token_and_is_off_without_one() {
    let runner = spawn_runner("fraud", "affine.onnx", Some(TOKEN)).await;
    let anonymous = runner.swap(None, "affine_v2.onnx", "").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = runner
        .swap(Some("not-the-token"), "affine_v2.onnx", "")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let basic = runner
        .client
        .put(runner.url("/model"))
        .basic_auth("admin", Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(served_revision(&runner).await, json!(1));

    let closed = spawn_runner("fraud", "affine.onnx", None).await;
    let refused = closed.swap(Some(TOKEN), "affine_v2.onnx", "").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("--swap-token-file"),
        "{body}"
    );
    assert_eq!(served_revision(&closed).await, json!(1));
}

pub async fn a_bad_model_is_refused_with_its_reason_and_the_old_one_keeps_serving() {
    let runner = spawn_runner("fraud", "affine.onnx", Some(TOKEN)).await;
    let mut truncated = fixture("affine.onnx");
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "not onnx",
            b"certainly not a model".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not an ONNX model",
        ),
        (
            "truncated",
            truncated,
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
        ),
        (
            "external data",
            fixture("external_data.onnx"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "external file",
        ),
        (
            "unknown op",
            fixture("unknown_op.onnx"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
        ),
        (
            "empty",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
        ),
    ];
    for (what, bytes, status, why) in cases {
        let refused = runner.swap_bytes(Some(TOKEN), bytes, "").await;
        assert_eq!(refused.status(), status, "{what}");
        let body: Value = refused.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(why), "{what}: {error}");
        assert!(
            !error.contains("/tmp") && !error.contains("caravan-runner"),
            "{what}: {error}"
        );
    }
    // Every form of external data ONNX has, each naming a file the runner could read.
    for (form, bytes) in hostile::external_data_models("/etc/passwd") {
        let refused = runner.swap_bytes(Some(TOKEN), bytes, "").await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form}");
        let error = refused.json::<Value>().await.unwrap()["error"].to_string();
        assert!(!error.contains("root:"), "{form}: {error}");
    }
    let missing_part = runner
        .client
        .put(runner.url("/model"))
        .bearer_auth(TOKEN)
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_part.status(), StatusCode::BAD_REQUEST);
    assert_eq!(served_revision(&runner).await, json!(1));
    let result = decode_response(runner.infer("fraud", None, &request(1.0)).await).await;
    assert_eq!(
        (result.status, result.version()),
        (StatusCode::OK, "1".into())
    );
}

pub async fn a_changed_signature_is_refused_unless_allowed() {
    let runner = spawn_runner("fraud", "affine.onnx", Some(TOKEN)).await;
    let changed = runner.swap(Some(TOKEN), "two_in_two_out.onnx", "").await;
    assert_eq!(changed.status(), StatusCode::CONFLICT);
    let body: Value = changed.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("allow_signature_change"),
        "{body}"
    );
    assert_eq!(served_revision(&runner).await, json!(1));

    let allowed = runner
        .swap(
            Some(TOKEN),
            "two_in_two_out.onnx",
            "?allow_signature_change=true",
        )
        .await;
    assert_eq!(allowed.status(), StatusCode::OK);
    let (_, metadata) = runner.get_json("/v2/models/fraud").await;
    assert_eq!(metadata["versions"], json!(["2"]));
    assert_ne!(metadata["inputs"][0]["name"], json!("x"), "{metadata}");
    // The same bytes again change nothing.
    let again = runner
        .swap(
            Some(TOKEN),
            "two_in_two_out.onnx",
            "?allow_signature_change=true",
        )
        .await;
    assert_eq!(again.json::<Value>().await.unwrap()["revision"], json!(2));
}
