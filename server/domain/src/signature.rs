//! What a model takes and returns, and what else its ONNX file says about itself.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::NameError;
use crate::acumos::{AcumosInterface, ArtifactFormat};

/// Element types of tensors, named as in the Open Inference Protocol V2 (`FP32`, `BYTES`, ...).
/// ONNX `string` tensors are `BYTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum TensorType {
    #[serde(rename = "BOOL")]
    Bool,
    #[serde(rename = "UINT8")]
    Uint8,
    #[serde(rename = "UINT16")]
    Uint16,
    #[serde(rename = "UINT32")]
    Uint32,
    #[serde(rename = "UINT64")]
    Uint64,
    #[serde(rename = "INT8")]
    Int8,
    #[serde(rename = "INT16")]
    Int16,
    #[serde(rename = "INT32")]
    Int32,
    #[serde(rename = "INT64")]
    Int64,
    #[serde(rename = "FP16")]
    Fp16,
    #[serde(rename = "BF16")]
    Bf16,
    #[serde(rename = "FP32")]
    Fp32,
    #[serde(rename = "FP64")]
    Fp64,
    #[serde(rename = "BYTES")]
    Bytes,
}

impl TensorType {
    pub const ALL: [TensorType; 14] = [
        TensorType::Bool,
        TensorType::Uint8,
        TensorType::Uint16,
        TensorType::Uint32,
        TensorType::Uint64,
        TensorType::Int8,
        TensorType::Int16,
        TensorType::Int32,
        TensorType::Int64,
        TensorType::Fp16,
        TensorType::Bf16,
        TensorType::Fp32,
        TensorType::Fp64,
        TensorType::Bytes,
    ];

    /// The V2 datatype name.
    pub fn v2_name(self) -> &'static str {
        match self {
            TensorType::Bool => "BOOL",
            TensorType::Uint8 => "UINT8",
            TensorType::Uint16 => "UINT16",
            TensorType::Uint32 => "UINT32",
            TensorType::Uint64 => "UINT64",
            TensorType::Int8 => "INT8",
            TensorType::Int16 => "INT16",
            TensorType::Int32 => "INT32",
            TensorType::Int64 => "INT64",
            TensorType::Fp16 => "FP16",
            TensorType::Bf16 => "BF16",
            TensorType::Fp32 => "FP32",
            TensorType::Fp64 => "FP64",
            TensorType::Bytes => "BYTES",
        }
    }

    /// Bytes per element, or `None` for variable-length `BYTES`.
    pub fn element_size(self) -> Option<usize> {
        match self {
            TensorType::Bool | TensorType::Uint8 | TensorType::Int8 => Some(1),
            TensorType::Uint16 | TensorType::Int16 | TensorType::Fp16 | TensorType::Bf16 => Some(2),
            TensorType::Uint32 | TensorType::Int32 | TensorType::Fp32 => Some(4),
            TensorType::Uint64 | TensorType::Int64 | TensorType::Fp64 => Some(8),
            TensorType::Bytes => None,
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.v2_name())
    }
}

impl FromStr for TensorType {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TensorType::ALL
            .into_iter()
            .find(|t| t.v2_name() == s)
            .ok_or_else(|| NameError(format!("unknown datatype {s:?}")))
    }
}

/// One input or output: its name, element type and shape (`-1` for a dynamic dimension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TensorSpec {
    pub name: String,
    pub datatype: TensorType,
    pub shape: Vec<i64>,
}

/// The inputs and outputs of a model, in graph order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signature {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

impl Signature {
    /// Whether requests can be batched: every input and output has a dynamic first dimension
    /// (the batch axis), so requests concatenate along it and outputs split back.
    pub fn batchable(&self) -> bool {
        !self.inputs.is_empty()
            && self
                .inputs
                .iter()
                .chain(&self.outputs)
                .all(|s| s.shape.first() == Some(&-1))
    }
}

/// An operator set the model imports (`""` is the default `ai.onnx` domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpsetImport {
    pub domain: String,
    pub version: i64,
}

/// Everything Caravan extracts from a model when it is onboarded (for an Acumos bundle the
/// tensor signature is empty and `acumos` describes it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelInfo {
    pub signature: Signature,
    pub ir_version: i64,
    pub opsets: Vec<OpsetImport>,
    pub producer_name: String,
    pub producer_version: String,
    pub graph_name: String,
    pub doc_string: String,
    /// The model's `metadata_props` (key/value pairs set by the exporter).
    pub metadata: BTreeMap<String, String>,
    /// Resident memory that loading the model and building one ONNX Runtime session for it
    /// took, measured by the validation child (what deployment bundles size their memory
    /// requests from); absent for versions validated before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footprint_bytes: Option<u64>,
    /// What the artifact is (versions recorded before there was a second format are ONNX).
    #[serde(default)]
    pub format: ArtifactFormat,
    /// The Acumos model-runner interface, when the version came with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acumos: Option<AcumosInterface>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_types_round_trip_through_their_v2_names() {
        for t in TensorType::ALL {
            assert_eq!(t.v2_name().parse::<TensorType>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.v2_name());
        }
        assert!("FLOAT".parse::<TensorType>().is_err());
        assert_eq!(TensorType::Fp64.element_size(), Some(8));
        assert_eq!(TensorType::Bytes.element_size(), None);
    }
}
