//! Model-runner messages to tensors and back, in protobuf or proto3 JSON (int64 written as
//! strings, as Acumos did; numbers and strings both read).

use caravan_domain::TensorType;
use caravan_inference::serving::{NamedTensor, TensorData};
use half::{bf16, f16};
use prost::Message;
use std::borrow::Cow;

use prost_reflect::{DeserializeOptions, DynamicMessage, FieldDescriptor, SerializeOptions, Value};

use super::schema::{Binding, Method};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

/// Reads a request message into the method's input tensors.
pub fn decode(
    method: &Method,
    encoding: Encoding,
    body: &[u8],
) -> Result<Vec<NamedTensor>, String> {
    let message = match encoding {
        Encoding::Protobuf => DynamicMessage::decode(method.input.clone(), body).map_err(|e| {
            format!(
                "the body is not a protobuf {} message: {e}",
                method.input.name()
            )
        })?,
        Encoding::Json => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let options = DeserializeOptions::new().deny_unknown_fields(true);
            let message =
                DynamicMessage::deserialize_with_options(method.input.clone(), &mut de, &options)
                    .map_err(|e| {
                    format!(
                        "the body is not a JSON {} message: {e}",
                        method.input.name()
                    )
                })?;
            de.end()
                .map_err(|e| format!("the body has more after the message: {e}"))?;
            message
        }
    };
    method.inputs.iter().map(|b| tensor(&message, b)).collect()
}

fn list<'a>(message: &'a DynamicMessage, field: &FieldDescriptor) -> Cow<'a, [Value]> {
    match message.get_field(field) {
        Cow::Borrowed(Value::List(values)) => Cow::Borrowed(values.as_slice()),
        // An absent repeated field reads as an empty default.
        _ => Cow::Owned(Vec::new()),
    }
}

fn tensor(message: &DynamicMessage, binding: &Binding) -> Result<NamedTensor, String> {
    let spec = &binding.spec;
    let field = binding.field.name();
    let values = list(message, &binding.field);
    let declared: Option<Vec<i64>> = binding
        .shape
        .as_ref()
        .map(|s| {
            list(message, s)
                .iter()
                .filter_map(Value::as_i64)
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty());
    if values.is_empty() {
        return Err(format!(
            "field {field} (the model's input {:?}) is missing",
            spec.name
        ));
    }
    let shape = match declared {
        Some(shape) => {
            if shape.len() != spec.shape.len()
                || shape
                    .iter()
                    .zip(&spec.shape)
                    .any(|(d, s)| *d < 0 || (*s >= 0 && d != s))
            {
                return Err(format!(
                    "{field}_shape {shape:?} does not fit the input's shape {:?}",
                    spec.shape
                ));
            }
            shape.iter().map(|d| *d as usize).collect::<Vec<_>>()
        }
        None => infer_shape(&spec.shape, values.len())
            .map_err(|e| format!("field {field} has {} values: {e}", values.len()))?,
    };
    if shape.iter().product::<usize>() != values.len() {
        return Err(format!(
            "field {field} has {} values; shape {shape:?} takes {}",
            values.len(),
            shape.iter().product::<usize>()
        ));
    }
    Ok(NamedTensor {
        name: spec.name.clone(),
        shape,
        data: data(spec.datatype, &values),
    })
}

/// The shape of `n` row-major values under a signature's shape with at most one open
/// dimension.
fn infer_shape(spec: &[i64], n: usize) -> Result<Vec<usize>, String> {
    let fixed: usize = spec
        .iter()
        .filter(|d| **d >= 0)
        .map(|d| *d as usize)
        .product();
    let open = spec.iter().filter(|d| **d < 0).count();
    match open {
        0 if n == fixed => Ok(spec.iter().map(|d| *d as usize).collect()),
        0 => Err(format!("the input takes exactly {fixed}")),
        1 if fixed > 0 && n.is_multiple_of(fixed) => Ok(spec
            .iter()
            .map(|d| if *d < 0 { n / fixed } else { *d as usize })
            .collect()),
        1 => Err(format!("the input takes a multiple of {fixed}")),
        _ => Err("the input has more than one open dimension; send its _shape field".into()),
    }
}

fn data(t: TensorType, values: &[Value]) -> TensorData {
    // The message was decoded against a field whose kind `schema` checked against `t`.
    macro_rules! each {
        ($variant:ident, $as:ident, $conv:expr) => {
            TensorData::$variant(values.iter().filter_map(Value::$as).map($conv).collect())
        };
    }
    match t {
        TensorType::Bool => each!(Bool, as_bool, |v| v),
        TensorType::Uint8 => each!(U8, as_u32, |v| v as u8),
        TensorType::Uint16 => each!(U16, as_u32, |v| v as u16),
        TensorType::Uint32 => each!(U32, as_u32, |v| v),
        TensorType::Uint64 => each!(U64, as_u64, |v| v),
        TensorType::Int8 => each!(I8, as_i32, |v| v as i8),
        TensorType::Int16 => each!(I16, as_i32, |v| v as i16),
        TensorType::Int32 => each!(I32, as_i32, |v| v),
        TensorType::Int64 => each!(I64, as_i64, |v| v),
        TensorType::Fp16 => each!(F16, as_f32, f16::from_f32),
        TensorType::Bf16 => each!(Bf16, as_f32, bf16::from_f32),
        TensorType::Fp32 => each!(F32, as_f32, |v| v),
        TensorType::Fp64 => each!(F64, as_f64, |v| v),
        TensorType::Bytes => TensorData::Bytes(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
    }
}

fn values(data: &TensorData) -> Vec<Value> {
    match data {
        TensorData::Bool(v) => v.iter().map(|x| Value::Bool(*x)).collect(),
        TensorData::U8(v) => v.iter().map(|x| Value::U32(*x as u32)).collect(),
        TensorData::U16(v) => v.iter().map(|x| Value::U32(*x as u32)).collect(),
        TensorData::U32(v) => v.iter().map(|x| Value::U32(*x)).collect(),
        TensorData::U64(v) => v.iter().map(|x| Value::U64(*x)).collect(),
        TensorData::I8(v) => v.iter().map(|x| Value::I32(*x as i32)).collect(),
        TensorData::I16(v) => v.iter().map(|x| Value::I32(*x as i32)).collect(),
        TensorData::I32(v) => v.iter().map(|x| Value::I32(*x)).collect(),
        TensorData::I64(v) => v.iter().map(|x| Value::I64(*x)).collect(),
        TensorData::F16(v) => v.iter().map(|x| Value::F32(x.to_f32())).collect(),
        TensorData::Bf16(v) => v.iter().map(|x| Value::F32(x.to_f32())).collect(),
        TensorData::F32(v) => v.iter().map(|x| Value::F32(*x)).collect(),
        TensorData::F64(v) => v.iter().map(|x| Value::F64(*x)).collect(),
        TensorData::Bytes(v) => v.iter().map(|x| Value::String(x.clone())).collect(),
    }
}

/// The output names a method asks the model for.
pub fn output_names(method: &Method) -> Vec<String> {
    method.outputs.iter().map(|b| b.spec.name.clone()).collect()
}

/// Writes the method's output message from the model's outputs.
pub fn encode(
    method: &Method,
    encoding: Encoding,
    outputs: &[NamedTensor],
) -> Result<Vec<u8>, String> {
    let mut message = DynamicMessage::new(method.output.clone());
    for binding in &method.outputs {
        let Some(tensor) = outputs.iter().find(|t| t.name == binding.spec.name) else {
            return Err(format!("the model did not return {:?}", binding.spec.name));
        };
        message.set_field(&binding.field, Value::List(values(&tensor.data)));
        if let Some(shape) = &binding.shape {
            let dims = tensor.shape.iter().map(|d| Value::I64(*d as i64)).collect();
            message.set_field(shape, Value::List(dims));
        }
    }
    Ok(match encoding {
        Encoding::Protobuf => message.encode_to_vec(),
        Encoding::Json => {
            let mut out = serde_json::Serializer::new(Vec::new());
            let options = SerializeOptions::new().use_proto_field_name(true);
            message
                .serialize_with_options(&mut out, &options)
                .map_err(|e| format!("encoding the answer: {e}"))?;
            out.into_inner()
        }
    })
}
