//! Decoding an Open Inference Protocol V2 inference request: a JSON body, or with the binary
//! tensor data extension a JSON header of `Inference-Header-Content-Length` bytes followed by
//! the inputs' raw bytes in input order.

use caravan_domain::TensorType;
use caravan_inference::serving::{NamedTensor, codec};
use serde::Deserialize;
use serde_json::{Map, Value, value::RawValue};

use super::json_data;

#[derive(Deserialize)]
struct RequestHeader<'a> {
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    #[serde(borrow)]
    inputs: Vec<InputHeader<'a>>,
    #[serde(default)]
    outputs: Vec<OutputHeader>,
}

#[derive(Deserialize)]
struct InputHeader<'a> {
    name: String,
    shape: Vec<u64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OutputHeader {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// How the caller wants an output.
#[derive(Debug, Clone)]
pub struct RequestedOutput {
    pub name: String,
    /// `Some(true)`: binary, `Some(false)`: JSON, `None`: the request's default.
    pub binary: Option<bool>,
}

/// A decoded request.
#[derive(Debug)]
pub struct V2Request {
    pub id: Option<String>,
    pub inputs: Vec<NamedTensor>,
    pub outputs: Vec<RequestedOutput>,
    /// `binary_data_output` at request level.
    pub binary_output_default: bool,
}

/// Decodes a request body. `header_length` is the `Inference-Header-Content-Length`, if any.
pub fn decode(body: &[u8], header_length: Option<usize>) -> Result<V2Request, String> {
    let (header, mut binary) = match header_length {
        Some(n) if n > body.len() => {
            return Err(format!(
                "Inference-Header-Content-Length is {n}, but the body has only {} bytes",
                body.len()
            ));
        }
        Some(n) => body.split_at(n),
        None => (body, &[][..]),
    };
    let header: RequestHeader = serde_json::from_slice(header)
        .map_err(|e| format!("the request is not valid inference JSON: {e}"))?;
    let mut inputs = Vec::with_capacity(header.inputs.len());
    for input in header.inputs {
        let datatype: TensorType = input
            .datatype
            .parse()
            .map_err(|e: caravan_domain::NameError| e.0)?;
        let shape: Vec<usize> = input.shape.iter().map(|&d| d as usize).collect();
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                format!(
                    "input {:?} has an impossible shape {:?}",
                    input.name, input.shape
                )
            })?;
        let data = match (binary_size(&input.parameters, &input.name)?, input.data) {
            (Some(size), _) => {
                if size > binary.len() {
                    return Err(format!(
                        "input {:?} has binary_data_size {size}, but only {} bytes of binary data remain",
                        input.name,
                        binary.len()
                    ));
                }
                let (mine, rest) = binary.split_at(size);
                binary = rest;
                codec::decode_le(datatype, mine, count)
                    .map_err(|e| format!("input {:?}: {e}", input.name))?
            }
            (None, Some(raw)) => json_data::decode(datatype, raw.get())
                .map_err(|e| format!("input {:?}: {e}", input.name))?,
            (None, None) => {
                return Err(format!(
                    "input {:?} has neither data nor binary_data_size",
                    input.name
                ));
            }
        };
        inputs.push(NamedTensor {
            name: input.name,
            shape,
            data,
        });
    }
    if !binary.is_empty() {
        return Err(format!(
            "{} bytes of binary data belong to no input",
            binary.len()
        ));
    }
    let outputs = header
        .outputs
        .into_iter()
        .map(|o| {
            let binary = o
                .parameters
                .get("binary_data")
                .map(|v| v.as_bool().unwrap_or(false));
            RequestedOutput {
                name: o.name,
                binary,
            }
        })
        .collect();
    let binary_output_default = header
        .parameters
        .get("binary_data_output")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(V2Request {
        id: header.id,
        inputs,
        outputs,
        binary_output_default,
    })
}

fn binary_size(parameters: &Map<String, Value>, name: &str) -> Result<Option<usize>, String> {
    match parameters.get("binary_data_size") {
        None => Ok(None),
        Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
            format!("input {name:?}: binary_data_size must be a non-negative integer")
        }),
    }
}

#[cfg(test)]
mod tests {
    use caravan_inference::serving::TensorData;

    use super::*;

    #[test]
    fn json_and_binary_requests_decode_to_the_same_tensors() {
        let json = br#"{"id": "7", "inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32",
            "data": [[1, 2], [3, 4]]}], "outputs": [{"name": "y"}], "parameters": {"priority": 1}}"#;
        let from_json = decode(json, None).unwrap();
        assert_eq!(from_json.id.as_deref(), Some("7"));
        let header = br#"{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32",
            "parameters": {"binary_data_size": 16}}], "parameters": {"binary_data_output": true}}"#;
        let mut body = header.to_vec();
        for v in [1f32, 2.0, 3.0, 4.0] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        let from_binary = decode(&body, Some(header.len())).unwrap();
        assert_eq!(from_binary.inputs, from_json.inputs);
        assert_eq!(
            from_json.inputs[0].data,
            TensorData::F32(vec![1.0, 2.0, 3.0, 4.0])
        );
        assert!(from_binary.binary_output_default && !from_json.binary_output_default);
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        let header = br#"{"inputs": [{"name": "x", "shape": [4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(&[0; 8]);
        assert!(
            decode(&body, Some(header.len()))
                .unwrap_err()
                .contains("only 8 bytes")
        );
        assert!(
            decode(&body, Some(body.len() + 1))
                .unwrap_err()
                .contains("Inference-Header-Content-Length")
        );
        body.extend_from_slice(&[0; 12]);
        assert!(
            decode(&body, Some(header.len()))
                .unwrap_err()
                .contains("belong to no input")
        );
        assert!(
            decode(b"{nope", None)
                .unwrap_err()
                .contains("not valid inference JSON")
        );
        let no_data = br#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}"#;
        assert!(decode(no_data, None).unwrap_err().contains("neither data"));
        let bad_type =
            br#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}]}"#;
        assert!(
            decode(bad_type, None)
                .unwrap_err()
                .contains("unknown datatype")
        );
    }
}
