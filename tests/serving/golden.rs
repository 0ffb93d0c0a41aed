//! Outputs compared with what Python onnxruntime computed for the same inputs.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, TestApp, fixture, spawn_app,
    v2::{Tensor, assert_same, decode_response, golden},
};

/// Pushes a fixture as a public model named after it.
pub async fn publish(app: &TestApp, fixture_name: &str) -> String {
    let name = fixture_name.trim_end_matches(".onnx").replace('_', "-");
    app.push_ok(
        &app.admin_token,
        &name,
        fixture_name,
        Some(r#"{"visibility": "public"}"#),
    )
    .await;
    name
}

fn json_request(inputs: &[Tensor]) -> Value {
    json!({ "inputs": inputs })
}

pub async fn json_inference_matches_python_onnxruntime(backend: Backend) {
    let app = spawn_app(backend).await;
    // types.json has an FP16 input, which JSON cannot carry; it is covered by the binary test.
    for file in ["affine.json", "two_in_two_out.json", "strings.json"] {
        let golden = golden(file);
        let model = publish(&app, &golden.model).await;
        let response = app
            .infer_json(
                Some(&app.admin_token),
                &model,
                None,
                &json_request(&golden.inputs),
            )
            .await;
        let result = decode_response(response).await;
        assert_eq!(result.status, StatusCode::OK, "{}", result.header);
        assert_eq!(result.header["model_name"], model);
        assert_eq!(result.version(), "1");
        assert_eq!(result.outputs.len(), golden.outputs.len());
        for want in &golden.outputs {
            assert_same(result.output(&want.name), want);
        }
    }
}

pub async fn binary_inference_matches_python_onnxruntime(backend: Backend) {
    let app = spawn_app(backend).await;
    for file in [
        "affine.json",
        "two_in_two_out.json",
        "types.json",
        "strings.json",
    ] {
        let golden = golden(file);
        let model = publish(&app, &golden.model).await;
        let result = app
            .infer_binary(Some(&app.admin_token), &model, None, &golden.inputs)
            .await;
        assert_eq!(result.status, StatusCode::OK, "{file}: {}", result.header);
        for want in &golden.outputs {
            let got = result.output(&want.name);
            assert!(
                got.data.is_empty()
                    || result.header["outputs"]
                        .to_string()
                        .contains("binary_data_size")
            );
            assert_same(got, want);
        }
    }
}

fn read_f32(path: &str) -> Vec<f32> {
    std::fs::read(crate::support::fixture_path(path))
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

pub async fn the_cloud_forensics_model_matches_its_golden_vectors(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(
        &app.admin_token,
        "cloud-forensics",
        "cloud-forensics/cloud_forensics_mlp.onnx",
        None,
    )
    .await;
    let inputs = read_f32("cloud-forensics/golden_inputs.f32");
    let probs = read_f32("cloud-forensics/golden_probs_small.f32");
    let labels: Vec<i64> = std::fs::read(crate::support::fixture_path(
        "cloud-forensics/golden_labels_small.i64",
    ))
    .unwrap()
    .chunks_exact(8)
    .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
    .collect();
    let x = Tensor {
        name: "X".into(),
        datatype: "FP32".into(),
        shape: vec![256, 20],
        data: inputs.iter().map(|v| json!(v)).collect(),
    };
    let binary = app
        .infer_binary(
            Some(&app.admin_token),
            "cloud-forensics",
            None,
            std::slice::from_ref(&x),
        )
        .await;
    let json = decode_response(
        app.infer_json(
            Some(&app.admin_token),
            "cloud-forensics",
            None,
            &json_request(&[x]),
        )
        .await,
    )
    .await;
    for result in [binary, json] {
        assert_eq!(result.status, StatusCode::OK);
        let got_probs: Vec<f32> = result
            .output("probabilities")
            .data
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(got_probs, probs, "bit-identical to Python onnxruntime");
        let got_labels: Vec<i64> = result
            .output("label")
            .data
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(got_labels, labels);
    }
}

pub async fn bf16_travels_as_binary_both_ways(backend: Backend) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "bf16_identity.onnx").await;
    let x = Tensor {
        name: "x".into(),
        datatype: "BF16".into(),
        shape: vec![3],
        data: vec![json!(1.5), json!(-2.0), json!(0.25)],
    };
    let result = app
        .infer_binary(
            Some(&app.admin_token),
            &model,
            None,
            std::slice::from_ref(&x),
        )
        .await;
    assert_eq!(result.status, StatusCode::OK);
    let y = result.output("y");
    assert_eq!((y.datatype.as_str(), &y.data), ("BF16", &x.data));
    // Asked for JSON, BF16 still comes back binary: it has no JSON form.
    let body = json!({ "inputs": [{"name": "x", "shape": [1], "datatype": "BF16", "parameters": {"binary_data_size": 2}}] });
    let mut raw = serde_json::to_vec(&body).unwrap();
    let n = raw.len();
    raw.extend(half::bf16::from_f32(3.0).to_le_bytes());
    let response = app
        .client
        .post(app.url(&format!("/v2/models/{model}/infer")))
        .bearer_auth(&app.admin_token)
        .header("Inference-Header-Content-Length", n.to_string())
        .body(raw)
        .send()
        .await
        .unwrap();
    let result = decode_response(response).await;
    assert_eq!(result.output("y").data, vec![json!(3.0)]);
    assert!(result.header["outputs"][0]["parameters"]["binary_data_size"].is_number());
}

pub async fn outputs_can_be_selected_mixed_json_and_binary_with_the_id_echoed(backend: Backend) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "two_in_two_out.onnx").await;
    let body = json!({
        "id": "request-42",
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "INT64", "data": [3, -4]},
            {"name": "b", "shape": [2], "datatype": "INT64", "data": [1, 4]},
        ],
        "outputs": [{"name": "nonzero"}, {"name": "sum", "parameters": {"binary_data": true}}],
        "parameters": {"priority": 3, "timeout": 1000, "sequence_id": 0},
    });
    let result = decode_response(
        app.infer_json(Some(&app.admin_token), &model, None, &body)
            .await,
    )
    .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.header);
    assert_eq!(result.header["id"], "request-42");
    let names: Vec<_> = result.outputs.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["nonzero", "sum"], "in the requested order");
    assert_eq!(
        result.output("nonzero").data,
        vec![json!(true), json!(false)]
    );
    assert!(
        result.header["outputs"][0]["data"].is_array(),
        "nonzero as JSON"
    );
    assert!(
        result.header["outputs"][1]["parameters"]["binary_data_size"].is_number(),
        "sum as binary"
    );
    assert_eq!(result.output("sum").data, vec![json!(4), json!(0)]);
}

pub async fn gzip_and_deflate_request_bodies_are_accepted(backend: Backend) {
    use std::io::Write;
    let app = spawn_app(backend).await;
    let golden = golden("affine.json");
    let model = publish(&app, &golden.model).await;
    let plain = serde_json::to_vec(&json_request(&golden.inputs)).unwrap();
    for encoding in ["gzip", "deflate"] {
        let compressed = match encoding {
            "gzip" => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&plain).unwrap();
                e.finish().unwrap()
            }
            _ => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&plain).unwrap();
                e.finish().unwrap()
            }
        };
        let response = app
            .client
            .post(app.url(&format!("/v2/models/{model}/infer")))
            .bearer_auth(&app.admin_token)
            .header("Content-Encoding", encoding)
            .header("Content-Type", "application/json")
            .body(compressed)
            .send()
            .await
            .unwrap();
        let result = decode_response(response).await;
        assert_eq!(
            result.status,
            StatusCode::OK,
            "{encoding}: {}",
            result.header
        );
        assert_same(result.output("y"), &golden.outputs[0]);
    }
    let _ = fixture("affine.onnx");
}

/// The real tritonclient (installed by scripts/test.sh into .venv/tests) against the server.
pub async fn the_real_tritonclient_gets_the_golden_outputs(backend: Backend) {
    let app = spawn_app(backend).await;
    let python = std::env::var("CARAVAN_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{}/../.venv/tests/bin/python", env!("CARGO_MANIFEST_DIR")));
    assert!(
        std::path::Path::new(&python).is_file(),
        "{python} is missing: scripts/test.sh installs tritonclient there"
    );
    let mut args = vec![
        app.base.trim_start_matches("http://").to_owned(),
        app.admin_token.clone(),
    ];
    for file in [
        "affine.json",
        "two_in_two_out.json",
        "types.json",
        "strings.json",
    ] {
        let golden = golden(file);
        let model = publish(&app, &golden.model).await;
        args.push(
            crate::support::fixture_path(&format!("golden/{file}"))
                .display()
                .to_string(),
        );
        args.push(model);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/serving/tritonclient_check.py");
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .args(&args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.lines().any(|l| l == "ok"), "{stdout}");
    assert!(stdout.contains("types: binary outputs match"), "{stdout}");
}
