//! A V2 client for tests that speaks the binary tensor data extension the way tritonclient
//! does (inputs as binary_data_size + raw bytes, `binary_data_output` when no output is named,
//! the response split at Inference-Header-Content-Length), and golden-file helpers.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::TestApp;

/// A tensor as golden files and V2 JSON write it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Tensor {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<u64>,
    pub data: Vec<Value>,
}

/// A golden file: a model's inputs and the outputs Python onnxruntime computed.
#[derive(Debug, serde::Deserialize)]
pub struct Golden {
    pub model: String,
    pub inputs: Vec<Tensor>,
    pub outputs: Vec<Tensor>,
}

pub fn golden(name: &str) -> Golden {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/golden")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Little-endian bytes of JSON values of a V2 datatype (BYTES length-prefixed).
pub fn to_binary(datatype: &str, data: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in data {
        match datatype {
            "BOOL" => out.push(u8::from(v.as_bool().unwrap())),
            "UINT8" => out.push(v.as_u64().unwrap() as u8),
            "INT8" => out.push(v.as_i64().unwrap() as i8 as u8),
            "UINT16" => out.extend((v.as_u64().unwrap() as u16).to_le_bytes()),
            "INT16" => out.extend((v.as_i64().unwrap() as i16).to_le_bytes()),
            "UINT32" => out.extend((v.as_u64().unwrap() as u32).to_le_bytes()),
            "INT32" => out.extend((v.as_i64().unwrap() as i32).to_le_bytes()),
            "UINT64" => out.extend(v.as_u64().unwrap().to_le_bytes()),
            "INT64" => out.extend(v.as_i64().unwrap().to_le_bytes()),
            "FP16" => out.extend(half::f16::from_f64(v.as_f64().unwrap()).to_le_bytes()),
            "BF16" => out.extend(half::bf16::from_f64(v.as_f64().unwrap()).to_le_bytes()),
            "FP32" => out.extend((v.as_f64().unwrap() as f32).to_le_bytes()),
            "FP64" => out.extend(v.as_f64().unwrap().to_le_bytes()),
            "BYTES" => {
                let s = v.as_str().unwrap().as_bytes();
                out.extend((s.len() as u32).to_le_bytes());
                out.extend(s);
            }
            other => panic!("unknown datatype {other}"),
        }
    }
    out
}

/// JSON values from little-endian bytes.
pub fn from_binary(datatype: &str, bytes: &[u8]) -> Vec<Value> {
    let chunks = |n: usize| bytes.chunks_exact(n);
    match datatype {
        "BOOL" => bytes.iter().map(|&b| json!(b != 0)).collect(),
        "UINT8" => bytes.iter().map(|&b| json!(b)).collect(),
        "INT8" => bytes.iter().map(|&b| json!(b as i8)).collect(),
        "UINT16" => chunks(2)
            .map(|c| json!(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        "INT16" => chunks(2)
            .map(|c| json!(i16::from_le_bytes([c[0], c[1]])))
            .collect(),
        "UINT32" => chunks(4)
            .map(|c| json!(u32::from_le_bytes(c.try_into().unwrap())))
            .collect(),
        "INT32" => chunks(4)
            .map(|c| json!(i32::from_le_bytes(c.try_into().unwrap())))
            .collect(),
        "UINT64" => chunks(8)
            .map(|c| json!(u64::from_le_bytes(c.try_into().unwrap())))
            .collect(),
        "INT64" => chunks(8)
            .map(|c| json!(i64::from_le_bytes(c.try_into().unwrap())))
            .collect(),
        "FP16" => chunks(2)
            .map(|c| json!(half::f16::from_le_bytes([c[0], c[1]]).to_f64()))
            .collect(),
        "BF16" => chunks(2)
            .map(|c| json!(half::bf16::from_le_bytes([c[0], c[1]]).to_f64()))
            .collect(),
        "FP32" => chunks(4)
            .map(|c| json!(f32::from_le_bytes(c.try_into().unwrap())))
            .collect(),
        "FP64" => chunks(8)
            .map(|c| json!(f64::from_le_bytes(c.try_into().unwrap())))
            .collect(),
        "BYTES" => {
            let mut out = Vec::new();
            let mut rest = bytes;
            while !rest.is_empty() {
                let n = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
                out.push(json!(std::str::from_utf8(&rest[4..4 + n]).unwrap()));
                rest = &rest[4 + n..];
            }
            out
        }
        other => panic!("unknown datatype {other}"),
    }
}

/// Asserts that `got` equals `want`: floats compared at their own precision, the rest exactly.
pub fn assert_same(got: &Tensor, want: &Tensor) {
    assert_eq!(
        (&got.name, &got.datatype, &got.shape),
        (&want.name, &want.datatype, &want.shape)
    );
    assert_eq!(got.data.len(), want.data.len(), "{}", got.name);
    for (g, w) in got.data.iter().zip(&want.data) {
        let same = match want.datatype.as_str() {
            "FP32" => g.as_f64().unwrap() as f32 == w.as_f64().unwrap() as f32,
            "FP16" => {
                half::f16::from_f64(g.as_f64().unwrap()) == half::f16::from_f64(w.as_f64().unwrap())
            }
            "FP64" => g.as_f64() == w.as_f64(),
            _ => g == w,
        };
        assert!(same, "{}: got {g}, want {w}", got.name);
    }
}

/// A decoded inference response.
pub struct InferResult {
    pub status: StatusCode,
    pub header: Value,
    pub outputs: Vec<Tensor>,
}

impl InferResult {
    pub fn output(&self, name: &str) -> &Tensor {
        self.outputs
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no output {name}"))
    }

    pub fn version(&self) -> String {
        self.header["model_version"].as_str().unwrap().to_owned()
    }
}

pub fn infer_path(model: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("/v2/models/{model}/versions/{v}/infer"),
        None => format!("/v2/models/{model}/infer"),
    }
}

impl TestApp {
    /// Sends a JSON inference request.
    pub async fn infer_json(
        &self,
        token: Option<&str>,
        model: &str,
        version: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(&infer_path(model, version)))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Sends inputs as binary data the way tritonclient does, asking for binary outputs.
    pub async fn infer_binary(
        &self,
        token: Option<&str>,
        model: &str,
        version: Option<&str>,
        inputs: &[Tensor],
    ) -> InferResult {
        let mut body = Vec::new();
        let header = json!({
            "inputs": inputs.iter().map(|t| {
                let bytes = to_binary(&t.datatype, &t.data);
                body.extend_from_slice(&bytes);
                json!({"name": t.name, "shape": t.shape, "datatype": t.datatype,
                       "parameters": {"binary_data_size": bytes.len()}})
            }).collect::<Vec<_>>(),
            "parameters": {"binary_data_output": true},
        });
        let mut full = serde_json::to_vec(&header).unwrap();
        let header_length = full.len();
        full.extend(body);
        let mut request = self
            .client
            .post(self.url(&infer_path(model, version)))
            .header("Inference-Header-Content-Length", header_length.to_string())
            .header("Content-Type", "application/octet-stream")
            .body(full);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        decode_response(request.send().await.unwrap()).await
    }
}

/// Decodes a JSON or binary inference response (or an error).
pub async fn decode_response(response: Response) -> InferResult {
    let status = response.status();
    let header_length: Option<usize> = response
        .headers()
        .get("Inference-Header-Content-Length")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = response.bytes().await.unwrap();
    let (header, mut binary) = match header_length {
        Some(n) => (&body[..n], &body[n..]),
        None => (&body[..], &[][..]),
    };
    let header: Value = serde_json::from_slice(header).unwrap();
    let mut outputs = Vec::new();
    for o in header["outputs"].as_array().cloned().unwrap_or_default() {
        let datatype = o["datatype"].as_str().unwrap().to_owned();
        let data = match o["parameters"]["binary_data_size"].as_u64() {
            Some(n) => {
                let (mine, rest) = binary.split_at(n as usize);
                binary = rest;
                from_binary(&datatype, mine)
            }
            None => o["data"].as_array().unwrap().clone(),
        };
        let shape = o["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        outputs.push(Tensor {
            name: o["name"].as_str().unwrap().to_owned(),
            datatype,
            shape,
            data,
        });
    }
    assert!(binary.is_empty(), "unclaimed binary bytes in the response");
    InferResult {
        status,
        header,
        outputs,
    }
}
