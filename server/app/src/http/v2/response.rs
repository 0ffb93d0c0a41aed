//! Encoding an inference response: JSON, or with binary outputs a JSON header followed by the
//! outputs' raw bytes, its length in `Inference-Header-Content-Length`.

use caravan_inference::serving::{NamedTensor, TensorData, codec};
use serde::{Serialize, Serializer, ser::SerializeSeq};

use super::request::RequestedOutput;

#[derive(Serialize)]
struct Header<'a> {
    model_name: &'a str,
    model_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    outputs: Vec<OutputHeader<'a>>,
}

#[derive(Serialize)]
struct OutputHeader<'a> {
    name: &'a str,
    datatype: &'static str,
    shape: &'a [usize],
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<BinaryParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<JsonData<'a>>,
}

#[derive(Serialize)]
struct BinaryParameters {
    binary_data_size: usize,
}

/// Tensor elements as a flat JSON array.
struct JsonData<'a>(&'a TensorData);

impl Serialize for JsonData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        fn seq<S: Serializer, T: Serialize>(s: S, items: &[T]) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(items.len()))?;
            for item in items {
                seq.serialize_element(item)?;
            }
            seq.end()
        }
        match self.0 {
            TensorData::Bool(v) => seq(s, v),
            TensorData::U8(v) => seq(s, v),
            TensorData::U16(v) => seq(s, v),
            TensorData::U32(v) => seq(s, v),
            TensorData::U64(v) => seq(s, v),
            TensorData::I8(v) => seq(s, v),
            TensorData::I16(v) => seq(s, v),
            TensorData::I32(v) => seq(s, v),
            TensorData::I64(v) => seq(s, v),
            TensorData::F32(v) => seq(s, v),
            TensorData::F64(v) => seq(s, v),
            TensorData::Bytes(v) => seq(s, v),
            // Never JSON (see `is_binary`), but encode faithfully if asked.
            TensorData::F16(v) => seq(s, &v.iter().map(|x| x.to_f32()).collect::<Vec<_>>()),
            TensorData::Bf16(v) => seq(s, &v.iter().map(|x| x.to_f32()).collect::<Vec<_>>()),
        }
    }
}

/// An encoded response.
pub struct Encoded {
    pub body: Vec<u8>,
    /// Set when the body carries binary outputs after the JSON header.
    pub header_length: Option<usize>,
}

/// FP16 and BF16 have no JSON form; they always travel as binary.
fn is_binary(output: &NamedTensor, requested: &[RequestedOutput], default: bool) -> bool {
    let asked = requested
        .iter()
        .find(|r| r.name == output.name)
        .and_then(|r| r.binary);
    let has_json_form = !matches!(output.data, TensorData::F16(_) | TensorData::Bf16(_));
    asked.unwrap_or(default) || !has_json_form
}

pub fn encode(
    model: &str,
    version: i64,
    id: Option<&str>,
    outputs: &[NamedTensor],
    requested: &[RequestedOutput],
    binary_default: bool,
) -> Encoded {
    let binary: Vec<bool> = outputs
        .iter()
        .map(|o| is_binary(o, requested, binary_default))
        .collect();
    let header = Header {
        model_name: model,
        model_version: version.to_string(),
        id,
        outputs: outputs
            .iter()
            .zip(&binary)
            .map(|(o, &binary)| OutputHeader {
                name: &o.name,
                datatype: o.data.datatype().v2_name(),
                shape: &o.shape,
                parameters: binary.then(|| BinaryParameters {
                    binary_data_size: codec::encoded_len(&o.data),
                }),
                data: (!binary).then_some(JsonData(&o.data)),
            })
            .collect(),
    };
    let mut body = serde_json::to_vec(&header).expect("a response header serializes");
    if !binary.iter().any(|&b| b) {
        return Encoded {
            body,
            header_length: None,
        };
    }
    let header_length = body.len();
    for (output, _) in outputs.iter().zip(&binary).filter(|(_, b)| **b) {
        codec::encode_le(&output.data, &mut body);
    }
    Encoded {
        body,
        header_length: Some(header_length),
    }
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;

    fn output(name: &str, data: TensorData) -> NamedTensor {
        NamedTensor {
            name: name.into(),
            shape: vec![data.len()],
            data,
        }
    }

    #[test]
    fn json_responses_carry_data_and_binary_ones_a_header_and_bytes() {
        let outputs = [
            output("y", TensorData::F32(vec![1.5, 2.0])),
            output("h", TensorData::F16(vec![f16::ONE])),
        ];
        let asked = [RequestedOutput {
            name: "y".into(),
            binary: Some(false),
        }];
        let encoded = encode("m", 3, Some("req-1"), &outputs, &asked, false);
        let n = encoded.header_length.expect("FP16 forces binary framing");
        let header: serde_json::Value = serde_json::from_slice(&encoded.body[..n]).unwrap();
        assert_eq!(header["model_version"], "3");
        assert_eq!(header["id"], "req-1");
        assert_eq!(header["outputs"][0]["data"], serde_json::json!([1.5, 2.0]));
        assert_eq!(header["outputs"][1]["parameters"]["binary_data_size"], 2);
        assert_eq!(&encoded.body[n..], &f16::ONE.to_le_bytes());

        let plain = encode("m", 3, None, &outputs[..1], &[], false);
        assert!(plain.header_length.is_none());
        let all_binary = encode("m", 3, None, &outputs[..1], &[], true);
        assert_eq!(all_binary.body.len() - all_binary.header_length.unwrap(), 8);
    }
}
