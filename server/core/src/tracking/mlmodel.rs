//! The `MLmodel` file at the root of an MLflow model directory: which flavors it was logged
//! with, where its ONNX file is, its signature, and the run and logged model it came from.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{CoreError, Result};

/// Largest `MLmodel` file read (they are a few KiB).
pub const MAX_MLMODEL_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct MlModel {
    /// The ONNX file, relative to the model directory.
    pub onnx_file: String,
    /// MLflow's signature, as JSON.
    pub signature: Option<String>,
    pub run_id: Option<String>,
    pub model_id: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    flavors: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    signature: Option<serde_json::Value>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    model_id: Option<String>,
}

pub fn parse(bytes: &[u8]) -> Result<MlModel> {
    let raw: Raw = serde_norway::from_slice(bytes)
        .map_err(|e| CoreError::Invalid(format!("the MLmodel file is not valid YAML: {e}")))?;
    let Some(onnx) = raw.flavors.get("onnx") else {
        let named: Vec<&str> = raw
            .flavors
            .keys()
            .map(String::as_str)
            .filter(|f| *f != "python_function")
            .collect();
        let flavor = if named.is_empty() {
            raw.flavors
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            named.join(", ")
        };
        return Err(CoreError::Invalid(format!(
            "the model's flavor is {}: Caravan serves ONNX models only; convert the model to ONNX \
             and log it with mlflow.onnx.log_model",
            if flavor.is_empty() {
                "missing".to_owned()
            } else {
                format!("'{flavor}'")
            }
        )));
    };
    let onnx_file = onnx
        .get("data")
        .and_then(serde_json::Value::as_str)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| CoreError::Invalid("the MLmodel's onnx flavor names no data file".into()))?
        .to_owned();
    let signature = raw
        .signature
        .filter(|s| !s.is_null())
        .map(|s| s.to_string());
    Ok(MlModel {
        onnx_file,
        signature,
        run_id: raw.run_id,
        model_id: raw.model_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONNX: &str = r#"artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.17.0
    providers:
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    loader_module: mlflow.onnx
mlflow_version: 3.17.2
model_id: m-0123456789abcdef0123456789abcdef
run_id: 0123456789abcdef0123456789abcdef
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]'
  params: null
"#;

    #[test]
    fn an_onnx_mlmodel_names_its_file_signature_and_origin() {
        let m = parse(ONNX.as_bytes()).unwrap();
        assert_eq!(m.onnx_file, "model.onnx");
        assert_eq!(
            m.run_id.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            m.model_id.as_deref(),
            Some("m-0123456789abcdef0123456789abcdef")
        );
        let signature: serde_json::Value = serde_json::from_str(&m.signature.unwrap()).unwrap();
        assert!(signature["inputs"].as_str().unwrap().contains("float32"));
    }

    #[test]
    fn another_flavor_is_refused_by_name() {
        let sklearn = "flavors:\n  python_function: {loader_module: mlflow.sklearn}\n  sklearn: {pickled_model: model.pkl}\n";
        let e = parse(sklearn.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("'sklearn'") && e.contains("ONNX"), "{e}");
        let e = parse(b"flavors: {}\n").unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
        for bad in [
            "flavors: [1, 2",
            "flavors:\n  onnx: {data: ''}\n",
            "- a list\n",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        // Nine levels of nine aliases: 387,420,489 strings if expanded.
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names: Vec<char> = "abcdefghij".chars().collect();
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            bomb.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        // Valid but for the bomb, which the signature (any YAML) would take in.
        bomb.push_str("flavors:\n  onnx: {data: model.onnx}\nsignature: *j\n");
        let e = parse(bomb.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("not valid YAML"), "{e}");
        let deep = format!("flavors: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(deep.as_bytes()).is_err());
    }
}
