//! The model-runner interface of an ONNX version: which protobuf field carries which tensor.
//! Generated from the ONNX signature (`rpc predict (PredictIn) returns (PredictOut)`, one
//! repeated field per tensor, flattened row-major), or bound from a .proto the publisher sent,
//! which must then name the model's tensors with matching types.

use caravan_domain::{AcumosInterface, AcumosMethod, Signature, TensorSpec, TensorType};
use prost_reflect::{Cardinality, DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};

use super::proto;

/// The method a generated interface has.
pub const DEFAULT_METHOD: &str = "predict";
/// What a field that carries a tensor's shape is called after the tensor's field.
const SHAPE_SUFFIX: &str = "_shape";

/// One tensor's field, and the field with its shape when the signature leaves more than one
/// dimension open.
#[derive(Debug, Clone)]
pub struct Binding {
    pub spec: TensorSpec,
    pub field: FieldDescriptor,
    pub shape: Option<FieldDescriptor>,
}

/// One callable method.
#[derive(Debug, Clone)]
pub struct Method {
    pub name: String,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
    pub inputs: Vec<Binding>,
    pub outputs: Vec<Binding>,
}

/// A version's whole model-runner interface.
#[derive(Debug)]
pub struct RunnerSchema {
    pub proto: String,
    pub methods: Vec<Method>,
}

impl RunnerSchema {
    /// The interface of a version: its own .proto when it came with one, else generated.
    pub fn of(
        model: &str,
        signature: &Signature,
        interface: Option<&AcumosInterface>,
    ) -> Result<RunnerSchema, String> {
        match interface {
            Some(i) if !i.proto.is_empty() => bind(i.proto.clone(), signature),
            _ => bind(generate(model, signature), signature),
        }
    }

    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// The interface as recorded with a version.
    pub fn interface(&self) -> AcumosInterface {
        AcumosInterface {
            methods: self
                .methods
                .iter()
                .map(|m| AcumosMethod {
                    name: m.name.clone(),
                    input: m.input.name().to_owned(),
                    output: m.output.name().to_owned(),
                    description: String::new(),
                })
                .collect(),
            proto: self.proto.clone(),
            ..Default::default()
        }
    }
}

/// A protobuf identifier for a tensor or model name: letters, digits and `_`, starting with a
/// letter.
pub fn identifier(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert(0, 't');
    }
    id
}

fn proto_type(t: TensorType) -> &'static str {
    match t {
        TensorType::Bool => "bool",
        TensorType::Uint8 | TensorType::Uint16 | TensorType::Uint32 => "uint32",
        TensorType::Uint64 => "uint64",
        TensorType::Int8 | TensorType::Int16 | TensorType::Int32 => "int32",
        TensorType::Int64 => "int64",
        TensorType::Fp16 | TensorType::Bf16 | TensorType::Fp32 => "float",
        TensorType::Fp64 => "double",
        TensorType::Bytes => "string",
    }
}

fn kind_matches(t: TensorType, kind: &Kind) -> bool {
    let expected = proto_type(t);
    let actual = match kind {
        Kind::Bool => "bool",
        Kind::Uint32 | Kind::Fixed32 => "uint32",
        Kind::Uint64 | Kind::Fixed64 => "uint64",
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "int32",
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => "int64",
        Kind::Float => "float",
        Kind::Double => "double",
        Kind::String => "string",
        _ => return false,
    };
    actual == expected
}

fn needs_shape(spec: &TensorSpec) -> bool {
    spec.shape.iter().filter(|d| **d < 0).count() > 1
}

/// Field names of tensors, unique within a message (`input.1` and `input_1` both become
/// `input_1`, so the second is `input_1_2`).
fn field_names(specs: &[TensorSpec]) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    for spec in specs {
        let base = identifier(&spec.name);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) || taken.iter().any(|t| format!("{t}{SHAPE_SUFFIX}") == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        taken.push(name);
    }
    taken
}

fn message(out: &mut String, name: &str, specs: &[TensorSpec]) {
    out.push_str(&format!("message {name} {{\n"));
    let mut number = 1;
    for (spec, field) in specs.iter().zip(field_names(specs)) {
        let dims = spec
            .shape
            .iter()
            .map(|d| {
                if *d < 0 {
                    "?".to_owned()
                } else {
                    d.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "  // {} {} [{dims}], flattened row-major\n  repeated {} {field} = {number};\n",
            spec.name.escape_debug(),
            spec.datatype,
            proto_type(spec.datatype),
        ));
        number += 1;
        if needs_shape(spec) {
            out.push_str(&format!(
                "  repeated int64 {field}{SHAPE_SUFFIX} = {number};\n"
            ));
            number += 1;
        }
    }
    out.push_str("}\n");
}

/// The .proto of a signature.
pub fn generate(model: &str, signature: &Signature) -> String {
    let mut out = format!(
        "// The model-runner interface of {}, generated by Caravan from its ONNX signature.\n\
         syntax = \"proto3\";\n\npackage caravan.{};\n\n\
         service Model {{\n  rpc {DEFAULT_METHOD} (PredictIn) returns (PredictOut);\n}}\n\n",
        model.escape_debug(),
        identifier(model).to_ascii_lowercase(),
    );
    message(&mut out, "PredictIn", &signature.inputs);
    out.push('\n');
    message(&mut out, "PredictOut", &signature.outputs);
    out
}

fn bind_tensors(
    message: &MessageDescriptor,
    specs: &[TensorSpec],
    every_tensor: bool,
) -> Result<Vec<Binding>, String> {
    let names = field_names(specs);
    let mut bindings = Vec::new();
    let mut used = Vec::new();
    for (spec, name) in specs.iter().zip(&names) {
        let Some(field) = message.get_field_by_name(name) else {
            if every_tensor {
                return Err(format!(
                    "message {} has no field {name} for the model's input {:?}",
                    message.name(),
                    spec.name
                ));
            }
            continue;
        };
        if field.cardinality() != Cardinality::Repeated
            || !kind_matches(spec.datatype, &field.kind())
        {
            return Err(format!(
                "field {}.{name} must be `repeated {}` to carry {} {:?}",
                message.name(),
                proto_type(spec.datatype),
                spec.datatype,
                spec.name
            ));
        }
        let shape_name = format!("{name}{SHAPE_SUFFIX}");
        let shape = message.get_field_by_name(&shape_name);
        if let Some(s) = &shape
            && (s.cardinality() != Cardinality::Repeated || s.kind() != Kind::Int64)
        {
            return Err(format!(
                "field {}.{shape_name} must be `repeated int64`",
                message.name()
            ));
        }
        if shape.is_none() && needs_shape(spec) {
            return Err(format!(
                "message {} needs `repeated int64 {shape_name}`: {:?} has more than one open dimension",
                message.name(),
                spec.name
            ));
        }
        used.push(name.clone());
        if let Some(s) = &shape {
            used.push(s.name().to_owned());
        }
        bindings.push(Binding {
            spec: spec.clone(),
            field,
            shape,
        });
    }
    if let Some(extra) = message
        .fields()
        .find(|f| !used.iter().any(|u| u == f.name()))
    {
        return Err(format!(
            "field {}.{} is not one of the model's tensors",
            message.name(),
            extra.name()
        ));
    }
    if bindings.is_empty() {
        return Err(format!(
            "message {} carries none of the model's tensors",
            message.name()
        ));
    }
    Ok(bindings)
}

fn bind(proto: String, signature: &Signature) -> Result<RunnerSchema, String> {
    let pool: DescriptorPool = proto::compile(&proto)?;
    let mut methods = Vec::new();
    for service in pool
        .services()
        .filter(|s| s.parent_file().name() == proto::FILE)
    {
        for m in service.methods() {
            let (input, output) = (m.input(), m.output());
            methods.push(Method {
                name: m.name().to_owned(),
                inputs: bind_tensors(&input, &signature.inputs, true)?,
                outputs: bind_tensors(&output, &signature.outputs, false)?,
                input,
                output,
            });
        }
    }
    if methods.is_empty() {
        return Err("the .proto declares no service method".into());
    }
    Ok(RunnerSchema { proto, methods })
}
