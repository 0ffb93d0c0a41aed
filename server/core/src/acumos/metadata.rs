//! An Acumos bundle's `metadata.json` (schemas `acumos.schema.model:0.4.0` to `0.6.0`): the
//! model's name, runtime and methods, checked against the bundle's `model.proto`.

use caravan_domain::AcumosMethod;
use serde_json::Value;

use super::proto;

/// The largest `metadata.json` read.
pub const MAX_METADATA: usize = 512 << 10;
/// Media type of protobuf-typed messages; other media types are Acumos "raw" types, which
/// have no message in the .proto.
const PROTOBUF: &str = "application/vnd.google.protobuf";

/// What `metadata.json` says.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleMetadata {
    pub schema: String,
    pub name: String,
    pub runtime: String,
    pub requirements: Vec<String>,
    /// Acumos toolkit code (`SK`, `TF`, `RC`, `H2`, `JS`, `CC`), when the runtime names one.
    pub toolkit: Option<&'static str>,
    pub model_version: Option<String>,
    pub methods: Vec<AcumosMethod>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A method's message: a name (0.4.0) or `{"name", "media_type"}`; the name is `None` for a
/// raw type.
fn message(v: &Value, what: &str, method: &str) -> Result<Option<String>, String> {
    let (name, media) = match v {
        Value::String(s) => (s.clone(), Vec::new()),
        Value::Object(o) => (
            o.get("name").map(text).unwrap_or_default(),
            o.get("media_type")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default(),
        ),
        _ => return Err(format!("method {method:?} has no {what}")),
    };
    if !media.is_empty() && !media.iter().any(|m| m == PROTOBUF) {
        return Ok(None);
    }
    if name.is_empty() {
        return Err(format!("method {method:?} has no {what} message name"));
    }
    Ok(Some(name))
}

fn toolkit(runtime: &Value) -> Option<&'static str> {
    let name = runtime
        .get("name")
        .map(text)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kit = runtime
        .get("toolkit")
        .map(text)
        .unwrap_or_default()
        .to_ascii_lowercase();
    match (name.as_str(), kit.as_str()) {
        (_, "scikit-learn" | "sklearn") => Some("SK"),
        (_, "tensorflow" | "keras") => Some("TF"),
        ("r", _) => Some("RC"),
        ("h2o", _) => Some("H2"),
        ("javaspark", _) => Some("JS"),
        ("c++", _) => Some("CC"),
        _ => None,
    }
}

fn is_plain_requirement(r: &str) -> bool {
    let (name, version) = r.split_once("==").unwrap_or((r, "x"));
    let plain = |s: &str, extra: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    plain(name, "._-") && plain(version, ".*+!_-") && !name.starts_with('-')
}

/// Parses `metadata.json`.
pub fn parse(bytes: &[u8]) -> Result<BundleMetadata, String> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("metadata.json is not JSON: {e}"))?;
    let schema = doc.get("schema").map(text).unwrap_or_default();
    let minor = schema
        .strip_prefix("acumos.schema.model:0.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    if !matches!(minor, Some(4..=6)) {
        return Err(format!(
            "metadata.json names schema {schema:?}; Caravan reads acumos.schema.model 0.4.0 to 0.6.0"
        ));
    }
    let name = doc
        .get("name")
        .map(text)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if name.is_empty() {
        return Err("metadata.json has no model name".into());
    }
    // `runtime` may be an array of runtimes; the first is the model's.
    let runtime = match doc.get("runtime") {
        Some(Value::Array(a)) => a.first().cloned().unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    if !runtime.is_object() {
        return Err("metadata.json has no runtime".into());
    }
    let requirements = runtime
        .pointer("/dependencies/pip/requirements")
        .and_then(Value::as_array)
        .map(|reqs| {
            reqs.iter()
                .map(
                    |r| match (r.get("name").map(text), r.get("version").map(text)) {
                        (Some(n), Some(v)) if !v.is_empty() => format!("{n}=={v}"),
                        (Some(n), _) => n,
                        _ => String::new(),
                    },
                )
                .filter(|r| !r.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // These end up in a requirements.txt and a README: a line break or an option there would
    // be an instruction to pip, so only plain `name==version` is taken.
    if let Some(bad) = requirements.iter().find(|r| !is_plain_requirement(r)) {
        return Err(format!(
            "metadata.json lists a pip requirement that is not name==version: {:?}",
            bad.chars().take(100).collect::<String>()
        ));
    }
    let Some(Value::Object(declared)) = doc.get("methods") else {
        return Err("metadata.json has no methods".into());
    };
    if declared.is_empty() {
        return Err("metadata.json declares no method".into());
    }
    let mut methods = Vec::new();
    for (method, spec) in declared {
        let input = message(spec.get("input").unwrap_or(&Value::Null), "input", method)?;
        let output = message(spec.get("output").unwrap_or(&Value::Null), "output", method)?;
        methods.push(AcumosMethod {
            name: method.clone(),
            input: input.unwrap_or_default(),
            output: output.unwrap_or_default(),
            description: spec.get("description").map(text).unwrap_or_default(),
        });
    }
    let toolkit = toolkit(&runtime);
    let runtime = format!(
        "{} {}",
        runtime.get("name").map(text).unwrap_or_default(),
        runtime.get("version").map(text).unwrap_or_default()
    )
    .trim()
    .to_owned();
    if runtime.len() > 64
        || !runtime
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._+-".contains(c))
    {
        return Err("metadata.json's runtime name and version are not plain text".into());
    }
    Ok(BundleMetadata {
        schema,
        name,
        runtime,
        requirements,
        toolkit,
        model_version: doc.get("modelVersion").map(text).filter(|v| !v.is_empty()),
        methods,
    })
}

/// Checks that `model.proto` compiles and declares exactly the metadata's methods, with the
/// same messages (raw-typed messages have none).
pub fn check_proto(metadata: &BundleMetadata, source: &str) -> Result<(), String> {
    let pool = proto::compile(source)?;
    let declared = proto::methods(&pool);
    for m in &metadata.methods {
        let Some((_, input, output)) = declared.iter().find(|(name, ..)| *name == m.name) else {
            return Err(format!(
                "model.proto declares no rpc {:?}, which metadata.json lists",
                m.name
            ));
        };
        for (want, got, what) in [(&m.input, input, "input"), (&m.output, output, "output")] {
            if !want.is_empty() && want != got {
                return Err(format!(
                    "method {:?}: metadata.json says its {what} is {want}, model.proto says {got}",
                    m.name
                ));
            }
        }
    }
    if let Some((extra, ..)) = declared
        .iter()
        .find(|(name, ..)| !metadata.methods.iter().any(|m| &m.name == name))
    {
        return Err(format!(
            "model.proto declares rpc {extra:?}, which metadata.json does not list"
        ));
    }
    Ok(())
}
