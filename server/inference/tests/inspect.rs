//! Model inspection against the real ONNX Runtime, on the committed fixtures.

use std::path::{Path, PathBuf};

use caravan_domain::{OpsetImport, TensorSpec, TensorType};
use caravan_inference::{Refusal, environment, inspect_model, resolve_library};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn inspect(path: &Path) -> Result<caravan_domain::ModelInfo, Refusal> {
    let env = environment(&resolve_library(None).expect("run scripts/fetch-onnxruntime.sh"))
        .expect("ONNX Runtime loads");
    inspect_model(env, path)
}

fn refusal(path: &Path) -> String {
    inspect(path).expect_err("the model should be refused").0
}

fn temp_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    file
}

#[test]
fn a_valid_model_yields_its_signature_opsets_producer_and_metadata() {
    let info = inspect(&fixture("affine.onnx")).unwrap();
    let spec = |name: &str| TensorSpec {
        name: name.into(),
        datatype: TensorType::Fp32,
        shape: vec![-1, 4],
    };
    assert_eq!(info.signature.inputs, [spec("x")]);
    assert_eq!(info.signature.outputs, [spec("y")]);
    assert_eq!(
        info.opsets,
        [OpsetImport {
            domain: String::new(),
            version: 17
        }]
    );
    assert_eq!(info.ir_version, 8);
    assert_eq!(info.producer_name, "caravan-fixtures");
    assert_eq!(info.graph_name, "affine");
    assert_eq!(info.doc_string, "y = 2x + 1");
    assert_eq!(
        info.metadata.get("author").map(String::as_str),
        Some("caravan")
    );
}

#[test]
fn several_inputs_and_outputs_keep_their_order_and_types() {
    let info = inspect(&fixture("two_in_two_out.onnx")).unwrap();
    let names = |specs: &[TensorSpec]| {
        specs
            .iter()
            .map(|s| (s.name.clone(), s.datatype))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&info.signature.inputs),
        [
            ("a".into(), TensorType::Int64),
            ("b".into(), TensorType::Int64)
        ]
    );
    assert_eq!(
        names(&info.signature.outputs),
        [
            ("sum".into(), TensorType::Int64),
            ("nonzero".into(), TensorType::Bool)
        ]
    );
}

#[test]
fn a_zipmap_output_is_refused_with_the_export_option_to_change() {
    let reason = refusal(&fixture("zipmap.onnx"));
    assert!(reason.contains("output_probability"), "{reason}");
    assert!(
        reason.contains("sequence of maps") && reason.contains("zipmap"),
        "{reason}"
    );
}

#[test]
fn external_data_is_refused_naming_the_file() {
    let reason = refusal(&fixture("external_data.onnx"));
    assert!(
        reason.contains("external file") && reason.contains("weights.bin"),
        "{reason}"
    );
    assert!(reason.contains("save_as_external_data=False"), "{reason}");
}

#[test]
fn a_protobuf_the_runtime_refuses_is_refused_with_its_reason() {
    let reason = refusal(&fixture("unknown_op.onnx"));
    assert!(
        reason.starts_with("ONNX Runtime could not load the model"),
        "{reason}"
    );
    assert!(reason.contains("NoSuchOperator"), "{reason}");
    assert!(
        !reason.contains("/tmp") && !reason.contains("fixtures"),
        "no paths leak: {reason}"
    );
}

#[test]
fn empty_text_and_truncated_files_are_refused() {
    let empty = temp_file(b"");
    assert!(refusal(empty.path()).contains("empty"));

    let text = temp_file(b"this is not a model, just some text\n");
    assert!(refusal(text.path()).contains("not an ONNX model"));

    let whole = std::fs::read(fixture("affine.onnx")).unwrap();
    let truncated = temp_file(&whole[..whole.len() / 2]);
    assert!(refusal(truncated.path()).contains("not an ONNX model"));
}
