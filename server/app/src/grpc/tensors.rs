//! Tensors of gRPC inference: a request's inputs from `raw_input_contents` (little-endian, as
//! the binary extension of REST) or from the typed `contents`, and outputs as raw bytes, which
//! is what tritonclient reads.

use caravan_domain::TensorType;
use caravan_inference::serving::{NamedTensor, TensorData, codec};

use super::proto::{
    InferTensorContents, ModelInferRequest, model_infer_response::InferOutputTensor,
};

/// The request's inputs, checked against their declared shapes and datatypes.
pub fn inputs(request: &mut ModelInferRequest) -> Result<Vec<NamedTensor>, String> {
    let raw = std::mem::take(&mut request.raw_input_contents);
    if !raw.is_empty() && raw.len() != request.inputs.len() {
        return Err(format!(
            "{} raw_input_contents for {} inputs: send one per input, in order, or none",
            raw.len(),
            request.inputs.len()
        ));
    }
    let mut tensors = Vec::with_capacity(request.inputs.len());
    for (i, input) in std::mem::take(&mut request.inputs).into_iter().enumerate() {
        let datatype: TensorType = input
            .datatype
            .parse()
            .map_err(|e: caravan_domain::NameError| format!("input {:?}: {}", input.name, e.0))?;
        let shape = input
            .shape
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .map_err(|_| format!("input {:?}: a negative dimension", input.name))
            })
            .collect::<Result<Vec<usize>, String>>()?;
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                format!(
                    "input {:?} has an impossible shape {:?}",
                    input.name, input.shape
                )
            })?;
        let data = match (raw.get(i), input.contents) {
            (Some(bytes), _) => codec::decode_le(datatype, bytes, count),
            (None, Some(contents)) => typed(datatype, contents, count),
            (None, None) => Err("neither raw_input_contents nor contents".to_owned()),
        }
        .map_err(|e| format!("input {:?}: {e}", input.name))?;
        tensors.push(NamedTensor {
            name: input.name,
            shape,
            data,
        });
    }
    Ok(tensors)
}

/// The typed contents of one input, as many as its shape holds.
fn typed(datatype: TensorType, c: InferTensorContents, count: usize) -> Result<TensorData, String> {
    fn narrow<T: TryFrom<i64>>(values: Vec<i64>) -> Result<Vec<T>, String> {
        values
            .into_iter()
            .map(|v| T::try_from(v).map_err(|_| format!("{v} is out of range for the datatype")))
            .collect()
    }
    let widen = |v: Vec<i32>| v.into_iter().map(i64::from).collect::<Vec<_>>();
    let unsigned = |v: Vec<u32>| v.into_iter().map(i64::from).collect::<Vec<_>>();
    let data = match datatype {
        TensorType::Bool => TensorData::Bool(c.bool_contents),
        TensorType::Int8 => TensorData::I8(narrow(widen(c.int_contents))?),
        TensorType::Int16 => TensorData::I16(narrow(widen(c.int_contents))?),
        TensorType::Int32 => TensorData::I32(c.int_contents),
        TensorType::Int64 => TensorData::I64(c.int64_contents),
        TensorType::Uint8 => TensorData::U8(narrow(unsigned(c.uint_contents))?),
        TensorType::Uint16 => TensorData::U16(narrow(unsigned(c.uint_contents))?),
        TensorType::Uint32 => TensorData::U32(c.uint_contents),
        TensorType::Uint64 => TensorData::U64(c.uint64_contents),
        TensorType::Fp32 => TensorData::F32(c.fp32_contents),
        TensorType::Fp64 => TensorData::F64(c.fp64_contents),
        TensorType::Bytes => TensorData::Bytes(
            c.bytes_contents
                .into_iter()
                .map(|b| {
                    String::from_utf8(b).map_err(|_| "BYTES contents must be UTF-8".to_owned())
                })
                .collect::<Result<_, _>>()?,
        ),
        TensorType::Fp16 | TensorType::Bf16 => {
            return Err(format!("{datatype} travels only as raw_input_contents"));
        }
    };
    if data.len() != count {
        return Err(format!(
            "the shape holds {count} elements, but {} were sent",
            data.len()
        ));
    }
    Ok(data)
}

/// Outputs as tritonclient reads them: metadata, and their bytes in `raw_output_contents`.
pub fn outputs(tensors: &[NamedTensor]) -> (Vec<InferOutputTensor>, Vec<Vec<u8>>) {
    tensors
        .iter()
        .map(|t| {
            let mut bytes = Vec::with_capacity(codec::encoded_len(&t.data));
            codec::encode_le(&t.data, &mut bytes);
            let meta = InferOutputTensor {
                name: t.name.clone(),
                datatype: t.data.datatype().v2_name().to_owned(),
                shape: t.shape.iter().map(|&d| d as i64).collect(),
                ..Default::default()
            };
            (meta, bytes)
        })
        .unzip()
}
