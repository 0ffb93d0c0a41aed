//! The Open Inference Protocol over gRPC, driven by the real tritonclient.grpc: the golden
//! outputs in raw form, statistics, and the refusals a client tells apart by status code.

use serde_json::{Value, json};

use crate::{
    golden::publish,
    support::{Backend, fixture_path, spawn_app_with},
};

pub async fn tritonclient_grpc_gets_the_golden_outputs_raw_and_clear_refusals(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.grpc.bind = "127.0.0.1:0".into()).await;
    let port = app.grpc_port.expect("the gRPC listener runs");
    let python = std::env::var("CARAVAN_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{}/../.venv/tests/bin/python", env!("CARGO_MANIFEST_DIR")));
    let slow = publish(&app, "slow.onnx").await;
    let mut args = vec![format!("127.0.0.1:{port}"), app.admin_token.clone(), slow];
    for file in [
        "affine.json",
        "two_in_two_out.json",
        "types.json",
        "strings.json",
    ] {
        let golden: Value = serde_json::from_slice(
            &std::fs::read(fixture_path(&format!("golden/{file}"))).unwrap(),
        )
        .unwrap();
        let model = publish(&app, golden["model"].as_str().unwrap()).await;
        args.push(
            fixture_path(&format!("golden/{file}"))
                .display()
                .to_string(),
        );
        args.push(model);
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/serving/tritonclient_grpc_check.py"
    );
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
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(out["live"], true, "{out}");
    assert_eq!(out["ready"], true);
    assert_eq!(out["server"], "caravan");
    assert_eq!(out["checked"].as_array().unwrap().len(), 4, "{out}");
    assert_eq!(out["stats_counts"], json!([1]), "equal phase counts: {out}");
    for (case, code) in [
        ("unknown_model", "StatusCode.NOT_FOUND"),
        ("unknown_version", "StatusCode.NOT_FOUND"),
        ("no_token", "StatusCode.UNAUTHENTICATED"),
        ("bad_token", "StatusCode.UNAUTHENTICATED"),
        ("wrong_datatype", "StatusCode.INVALID_ARGUMENT"),
        ("raw_length_mismatch", "StatusCode.INVALID_ARGUMENT"),
        // tonic refuses a message over grpc.max_message_bytes before decoding it.
        ("too_large", "StatusCode.OUT_OF_RANGE"),
        ("deadline", "StatusCode.DEADLINE_EXCEEDED"),
    ] {
        assert_eq!(out[case], code, "{case}: {out}");
    }
}
