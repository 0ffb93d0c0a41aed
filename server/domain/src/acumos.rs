//! What Caravan records about versions in Acumos's terms: the artifact's format, and the
//! model-runner interface (methods and their protobuf messages) that Acumos clients call.

use serde::{Deserialize, Serialize};

/// What a version's stored artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactFormat {
    /// An ONNX model, validated and served in-process by ONNX Runtime.
    #[default]
    Onnx,
    /// An Acumos model bundle (a zip of `model.zip`, `metadata.json`, `model.proto` and an
    /// optional `license.json`, each kept as pushed). Its `model.zip` holds a pickled Python
    /// function: Caravan catalogs, shares and packages it but never unpickles or runs it.
    AcumosBundle,
}

impl ArtifactFormat {
    pub fn is_onnx(self) -> bool {
        self == ArtifactFormat::Onnx
    }

    /// Why a version of this format is not served in-process, if it is not.
    pub fn not_served_reason(self) -> Option<&'static str> {
        match self {
            ArtifactFormat::Onnx => None,
            ArtifactFormat::AcumosBundle => Some(
                "this version is an Acumos model bundle: a pickled Python function, which \
                 Caravan never unpickles or runs in-process (loading a pickle runs its code); \
                 deploy it with the 'acumos' deployment bundle, which runs the Acumos model \
                 runner on it",
            ),
        }
    }
}

/// A model-runner method: `POST /model/methods/{name}` takes `input` and answers `output`
/// (protobuf message names in the version's .proto).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AcumosMethod {
    pub name: String,
    pub input: String,
    pub output: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The Acumos interface of a version: from a pushed bundle's `metadata.json` and
/// `model.proto`, or from the .proto sent with an ONNX model.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AcumosInterface {
    pub methods: Vec<AcumosMethod>,
    /// The .proto text the methods' messages are declared in.
    pub proto: String,
    /// The metadata schema a bundle declared (`acumos.schema.model:0.6.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The bundle's runtime (`python 3.9.18`) and its pip requirements (`name==version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// The license the bundle named (an SPDX id or a license profile's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}
