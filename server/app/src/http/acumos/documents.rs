//! The documents a model-runner surface describes a version with: Acumos's `metadata.json`
//! (schema 0.6.0) and an OpenAPI 3.0 document of its methods.

use caravan_core::{VersionMetadata, acumos::RunnerSchema};
use caravan_domain::AcumosMethod;
use serde_json::{Value, json};

use super::model_runner::PROTOBUF;

const MEDIA: [&str; 2] = ["application/json", PROTOBUF];

/// `metadata.json` as the Acumos model runner serves it.
pub fn metadata(meta: &VersionMetadata, methods: &[AcumosMethod]) -> Value {
    let methods: serde_json::Map<String, Value> = methods
        .iter()
        .map(|m| {
            let message = |name: &str| json!({"name": name, "media_type": MEDIA, "metadata": {}, "description": ""});
            (
                m.name.clone(),
                json!({"description": m.description, "input": message(&m.input), "output": message(&m.output)}),
            )
        })
        .collect();
    let runtime = match &meta.acumos {
        Some(a) if a.runtime.is_some() => {
            let runtime = a.runtime.clone().unwrap_or_default();
            let (name, version) = runtime.split_once(' ').unwrap_or((runtime.as_str(), ""));
            json!({"name": name, "version": version})
        }
        _ => json!({"name": "onnx", "version": "", "serving": "caravan"}),
    };
    json!({
        "schema": "acumos.schema.model:0.6.0",
        "name": meta.name,
        "modelVersion": meta.version.to_string(),
        "runtime": runtime,
        "methods": methods,
    })
}

fn json_schema(message: &prost_reflect::MessageDescriptor) -> Value {
    use prost_reflect::Kind;
    let properties: serde_json::Map<String, Value> = message
        .fields()
        .map(|f| {
            let item = match f.kind() {
                Kind::Bool => json!({"type": "boolean"}),
                Kind::Float | Kind::Double => json!({"type": "number"}),
                Kind::Int64 | Kind::Uint64 | Kind::Sint64 | Kind::Fixed64 | Kind::Sfixed64 => {
                    json!({"oneOf": [{"type": "string", "pattern": "^-?[0-9]+$"}, {"type": "integer"}]})
                }
                Kind::String => json!({"type": "string"}),
                _ => json!({"type": "integer"}),
            };
            (f.name().to_owned(), json!({"type": "array", "items": item}))
        })
        .collect();
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

/// An OpenAPI 3.0 document of the version's methods under `prefix`.
pub fn openapi(meta: &VersionMetadata, schema: &RunnerSchema, prefix: &str) -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for m in &schema.methods {
        schemas.insert(m.input.name().to_owned(), json_schema(&m.input));
        schemas.insert(m.output.name().to_owned(), json_schema(&m.output));
        let content = |name: &str| {
            json!({
                "application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}},
                PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            })
        };
        paths.insert(
            format!("{prefix}/model/methods/{}", m.name),
            json!({"post": {
                "operationId": m.name,
                "summary": format!("{} -> {}", m.input.name(), m.output.name()),
                "requestBody": {"required": true, "content": content(m.input.name())},
                "responses": {
                    "200": {"description": m.output.name(), "content": content(m.output.name())},
                    "400": {"description": "the message does not decode or does not fit the model"},
                },
            }}),
        );
    }
    for (artifact, media) in [("metadata", "application/json"), ("protobuf", "text/plain")] {
        paths.insert(
            format!("{prefix}/model/artifacts/{artifact}"),
            json!({"get": {"operationId": format!("artifact_{artifact}"),
                "responses": {"200": {"description": artifact, "content": {media: {}}}}}}),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": format!("{} (version {})", meta.name, meta.version), "version": meta.version.to_string()},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}
