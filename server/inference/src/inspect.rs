//! Inspecting an ONNX file: decode the protobuf header fields ourselves, refuse what Caravan
//! cannot serve, then let ONNX Runtime load it and read its signature.

use std::{fs::File, path::Path};

use caravan_domain::{ModelInfo, OpsetImport, Signature, TensorSpec, TensorType};
use ort::{
    environment::Environment,
    session::Session,
    value::{Outlet, TensorElementType, ValueType},
};
use prost::Message;

use crate::{
    external_data::refuse_external_data,
    onnx_proto::ModelProto,
    session::{self, Purpose},
};

/// Why a model was refused, in words that tell the uploader what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl From<std::io::Error> for Refusal {
    fn from(e: std::io::Error) -> Self {
        Refusal(format!("the model file could not be read: {e}"))
    }
}

/// Validates the ONNX model at `path` and extracts what Caravan records about it.
pub fn inspect_model(env: &Environment, path: &Path) -> Result<ModelInfo, Refusal> {
    inspect_bytes(env, &map_file(path)?)
}

/// Validates the ONNX model in `bytes` and extracts what Caravan records about it. ONNX Runtime
/// loads it from memory, so it has no base directory to resolve anything against.
pub fn inspect_bytes(env: &Environment, bytes: &[u8]) -> Result<ModelInfo, Refusal> {
    let proto = parse_self_contained(bytes)?;
    let session = load_session(env, bytes)?;
    let signature = signature_of(&session)?;
    let graph_name = proto.graph.map(|g| g.name).unwrap_or_default();
    Ok(ModelInfo {
        signature,
        ir_version: proto.ir_version,
        opsets: proto
            .opset_import
            .into_iter()
            .map(|o| OpsetImport {
                domain: o.domain,
                version: o.version,
            })
            .collect(),
        producer_name: proto.producer_name,
        producer_version: proto.producer_version,
        graph_name,
        doc_string: proto.doc_string,
        metadata: proto
            .metadata_props
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect(),
        footprint_bytes: None,
        ..Default::default()
    })
}

/// Refuses, before ONNX Runtime sees them, the bytes it must never load: anything that is not
/// an ONNX protobuf (ONNX Runtime would also take its own flatbuffer format) and any model with
/// a tensor whose data lives in another file. Serving runs this again on every load.
pub fn check_self_contained(bytes: &[u8]) -> Result<(), Refusal> {
    parse_self_contained(bytes).map(drop)
}

fn parse_self_contained(bytes: &[u8]) -> Result<ModelProto, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal(
            "the file is empty; upload an ONNX model (.onnx)".into(),
        ));
    }
    if bytes.get(4..8) == Some(ORT_FORMAT_IDENTIFIER) {
        return Err(Refusal(
            "the file is in ONNX Runtime's own .ort format; upload the .onnx model instead".into(),
        ));
    }
    let proto = decode_header(bytes)?;
    refuse_external_data(&proto)?;
    Ok(proto)
}

/// The file identifier of ONNX Runtime's flatbuffer model format, at offset 4.
const ORT_FORMAT_IDENTIFIER: &[u8] = b"ORTM";

/// Maps the model file: the decoder then skips tensor data without reading it, and ONNX
/// Runtime parses the mapping instead of reading the file into a buffer of its own.
pub(crate) fn map_file(path: &Path) -> Result<memmap2::Mmap, Refusal> {
    let file = File::open(path)?;
    map(&file)
}

/// Maps an open model file (the validator child gets its model as standard input).
pub(crate) fn map(file: &File) -> Result<memmap2::Mmap, Refusal> {
    if file.metadata()?.len() == 0 {
        return Err(Refusal(
            "the file is empty; upload an ONNX model (.onnx)".into(),
        ));
    }
    // SAFETY: staging files and stored blobs are private to Caravan and never written in
    // place: a blob is written once under its digest, and nobody writes it while we read.
    #[allow(unsafe_code)]
    let bytes = unsafe { memmap2::Mmap::map(file)? };
    Ok(bytes)
}

fn decode_header(bytes: &[u8]) -> Result<ModelProto, Refusal> {
    let proto = ModelProto::decode(bytes).map_err(|e| {
        Refusal(format!(
            "the file is not an ONNX model (its protobuf does not decode: {e})"
        ))
    })?;
    if proto.graph.is_none() || proto.ir_version <= 0 {
        return Err(Refusal(
            "the file is not an ONNX model (it has no graph or no IR version)".into(),
        ));
    }
    Ok(proto)
}

/// Loads the model as serving will (see [`crate::session`]): a model that cannot be loaded
/// that way, or whose optimisation needs more memory or time than validation allows, is
/// refused here rather than failing on its first request.
fn load_session(env: &Environment, bytes: &[u8]) -> Result<Session, Refusal> {
    session::load(env, bytes, Purpose::Validation).map_err(|e| {
        let message = e.to_string();
        if message.contains("bad_alloc") || message.contains("bad allocation") {
            Refusal("loading the model needs more memory than validation allows".into())
        } else {
            Refusal(format!("ONNX Runtime could not load the model: {message}"))
        }
    })
}

/// The inputs and outputs of a loaded session, refusing anything that is not a tensor.
pub(crate) fn signature_of(session: &Session) -> Result<Signature, Refusal> {
    Ok(Signature {
        inputs: tensor_specs(session.inputs(), "input")?,
        outputs: tensor_specs(session.outputs(), "output")?,
    })
}

fn tensor_specs(outlets: &[Outlet], kind: &str) -> Result<Vec<TensorSpec>, Refusal> {
    outlets.iter().map(|o| tensor_spec(o, kind)).collect()
}

fn tensor_spec(outlet: &Outlet, kind: &str) -> Result<TensorSpec, Refusal> {
    let name = outlet.name();
    match outlet.dtype() {
        ValueType::Tensor { ty, shape, .. } => Ok(TensorSpec {
            name: name.to_owned(),
            datatype: tensor_type(*ty).ok_or_else(|| {
                Refusal(format!(
                    "{kind} {name:?} has element type {ty}, which the inference protocol \
                     cannot carry; use a standard numeric, bool or string type"
                ))
            })?,
            shape: shape.iter().copied().collect(),
        }),
        ValueType::Sequence(inner) if matches!(**inner, ValueType::Map { .. }) => {
            Err(Refusal(format!(
                "{kind} {name:?} is a sequence of maps (as skl2onnx's ZipMap writes \
                 classifier probabilities), not a tensor; re-export with \
                 options={{id(classifier): {{\"zipmap\": False}}}} so it is a probability tensor"
            )))
        }
        other => Err(Refusal(format!(
            "{kind} {name:?} is a {}, not a tensor; Caravan serves models whose inputs and \
             outputs are all tensors",
            describe(other)
        ))),
    }
}

fn describe(value: &ValueType) -> &'static str {
    match value {
        ValueType::Tensor { .. } => "tensor",
        ValueType::Sequence(_) => "sequence",
        ValueType::Map { .. } => "map",
        ValueType::Optional(_) => "optional value",
    }
}

fn tensor_type(ty: TensorElementType) -> Option<TensorType> {
    Some(match ty {
        TensorElementType::Bool => TensorType::Bool,
        TensorElementType::Uint8 => TensorType::Uint8,
        TensorElementType::Uint16 => TensorType::Uint16,
        TensorElementType::Uint32 => TensorType::Uint32,
        TensorElementType::Uint64 => TensorType::Uint64,
        TensorElementType::Int8 => TensorType::Int8,
        TensorElementType::Int16 => TensorType::Int16,
        TensorElementType::Int32 => TensorType::Int32,
        TensorElementType::Int64 => TensorType::Int64,
        TensorElementType::Float16 => TensorType::Fp16,
        TensorElementType::Bfloat16 => TensorType::Bf16,
        TensorElementType::Float32 => TensorType::Fp32,
        TensorElementType::Float64 => TensorType::Fp64,
        TensorElementType::String => TensorType::Bytes,
        _ => return None,
    })
}
