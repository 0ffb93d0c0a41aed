//! Tensor elements as raw little-endian bytes (the V2 binary tensor data extension): fixed-size
//! types packed without padding, BOOL as one byte, BYTES as a 4-byte length then the bytes.

use caravan_domain::TensorType;
use half::{bf16, f16};

use super::TensorData;

/// Decodes `count` elements of `datatype` from exactly `bytes`.
pub fn decode_le(datatype: TensorType, bytes: &[u8], count: usize) -> Result<TensorData, String> {
    if let Some(size) = datatype.element_size()
        && bytes.len() != count * size
    {
        return Err(format!(
            "{count} {datatype} elements need {} bytes, but {} were sent",
            count * size,
            bytes.len()
        ));
    }
    macro_rules! fixed {
        ($variant:ident, $t:ty, $n:literal) => {
            TensorData::$variant(
                bytes
                    .chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk size")))
                    .collect(),
            )
        };
    }
    Ok(match datatype {
        TensorType::Bool => TensorData::Bool(bytes.iter().map(|&b| b != 0).collect()),
        TensorType::Uint8 => TensorData::U8(bytes.to_vec()),
        TensorType::Int8 => TensorData::I8(bytes.iter().map(|&b| b as i8).collect()),
        TensorType::Uint16 => fixed!(U16, u16, 2),
        TensorType::Int16 => fixed!(I16, i16, 2),
        TensorType::Fp16 => TensorData::F16(
            bytes
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]))
                .collect(),
        ),
        TensorType::Bf16 => TensorData::Bf16(
            bytes
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]))
                .collect(),
        ),
        TensorType::Uint32 => fixed!(U32, u32, 4),
        TensorType::Int32 => fixed!(I32, i32, 4),
        TensorType::Fp32 => fixed!(F32, f32, 4),
        TensorType::Uint64 => fixed!(U64, u64, 8),
        TensorType::Int64 => fixed!(I64, i64, 8),
        TensorType::Fp64 => fixed!(F64, f64, 8),
        TensorType::Bytes => TensorData::Bytes(decode_bytes(bytes, count)?),
    })
}

fn decode_bytes(mut bytes: &[u8], count: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(count.min(bytes.len() / 4 + 1));
    for i in 0..count {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(format!("BYTES element {i} has no 4-byte length prefix"));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(format!(
                "BYTES element {i} says {len} bytes, but only {} remain",
                rest.len()
            ));
        }
        let (element, rest) = rest.split_at(len);
        let text = std::str::from_utf8(element)
            .map_err(|_| format!("BYTES element {i} is not UTF-8, which ONNX strings must be"))?;
        out.push(text.to_owned());
        bytes = rest;
    }
    if !bytes.is_empty() {
        return Err(format!(
            "{} bytes follow the last of {count} BYTES elements",
            bytes.len()
        ));
    }
    Ok(out)
}

/// Appends the little-endian encoding of `data` to `out`.
pub fn encode_le(data: &TensorData, out: &mut Vec<u8>) {
    macro_rules! fixed {
        ($v:expr) => {
            for x in $v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
    }
    match data {
        TensorData::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        TensorData::U8(v) => out.extend_from_slice(v),
        TensorData::I8(v) => out.extend(v.iter().map(|&b| b as u8)),
        TensorData::U16(v) => fixed!(v),
        TensorData::I16(v) => fixed!(v),
        TensorData::F16(v) => fixed!(v),
        TensorData::Bf16(v) => fixed!(v),
        TensorData::U32(v) => fixed!(v),
        TensorData::I32(v) => fixed!(v),
        TensorData::F32(v) => fixed!(v),
        TensorData::U64(v) => fixed!(v),
        TensorData::I64(v) => fixed!(v),
        TensorData::F64(v) => fixed!(v),
        TensorData::Bytes(v) => {
            for s in v {
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// The encoded size of `data` in bytes.
pub fn encoded_len(data: &TensorData) -> usize {
    match data {
        TensorData::Bytes(v) => v.iter().map(|s| 4 + s.len()).sum(),
        other => other.len() * other.datatype().element_size().expect("fixed size"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datatype_round_trips() {
        let samples = [
            TensorData::Bool(vec![true, false]),
            TensorData::U8(vec![0, 255]),
            TensorData::I8(vec![-128, 127]),
            TensorData::U16(vec![1, 65535]),
            TensorData::I16(vec![-2, 3]),
            TensorData::F16(vec![f16::from_f32(1.5), f16::from_f32(-2.0)]),
            TensorData::Bf16(vec![bf16::from_f32(0.5), bf16::from_f32(8.0)]),
            TensorData::U32(vec![7, u32::MAX]),
            TensorData::I32(vec![-7, 9]),
            TensorData::F32(vec![0.25, -1e9]),
            TensorData::U64(vec![u64::MAX, 1]),
            TensorData::I64(vec![i64::MIN, 2]),
            TensorData::F64(vec![std::f64::consts::PI, -0.0]),
            TensorData::Bytes(vec!["héllo".into(), String::new()]),
        ];
        for data in samples {
            let mut bytes = Vec::new();
            encode_le(&data, &mut bytes);
            assert_eq!(bytes.len(), encoded_len(&data));
            assert_eq!(
                decode_le(data.datatype(), &bytes, data.len()).unwrap(),
                data
            );
        }
    }

    #[test]
    fn wrong_lengths_and_bad_strings_are_refused() {
        assert!(
            decode_le(TensorType::Fp32, &[0; 7], 2)
                .unwrap_err()
                .contains("need 8 bytes")
        );
        assert!(
            decode_le(TensorType::Bytes, &[5, 0, 0, 0, b'a'], 1)
                .unwrap_err()
                .contains("only 1 remain")
        );
        assert!(
            decode_le(TensorType::Bytes, &[1, 0, 0, 0, 0xff], 1)
                .unwrap_err()
                .contains("UTF-8")
        );
        assert!(
            decode_le(TensorType::Bytes, &[0, 0, 0, 0, 9], 1)
                .unwrap_err()
                .contains("follow")
        );
        assert!(
            decode_le(TensorType::Bytes, &[1, 0], 1)
                .unwrap_err()
                .contains("length prefix")
        );
    }
}
