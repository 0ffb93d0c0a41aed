//! Tensors as Caravan moves them between protocols and ONNX Runtime: a shape and one typed,
//! row-major vector per V2 datatype.

use caravan_domain::TensorType;
use half::{bf16, f16};
use ort::value::{DynValue, Tensor as OrtTensor, TensorElementType, ValueType};

/// The elements of a tensor, one vector type per datatype. `Bytes` holds ONNX strings, which
/// ONNX Runtime requires to be UTF-8.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Bool(Vec<bool>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<String>),
}

/// Applies `$body` to the vector inside any `TensorData`, binding it as `$v`.
#[macro_export]
macro_rules! with_tensor_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::serving::TensorData::Bool($v) => $body,
            $crate::serving::TensorData::U8($v) => $body,
            $crate::serving::TensorData::U16($v) => $body,
            $crate::serving::TensorData::U32($v) => $body,
            $crate::serving::TensorData::U64($v) => $body,
            $crate::serving::TensorData::I8($v) => $body,
            $crate::serving::TensorData::I16($v) => $body,
            $crate::serving::TensorData::I32($v) => $body,
            $crate::serving::TensorData::I64($v) => $body,
            $crate::serving::TensorData::F16($v) => $body,
            $crate::serving::TensorData::Bf16($v) => $body,
            $crate::serving::TensorData::F32($v) => $body,
            $crate::serving::TensorData::F64($v) => $body,
            $crate::serving::TensorData::Bytes($v) => $body,
        }
    };
}

/// A named tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl TensorData {
    pub fn datatype(&self) -> TensorType {
        match self {
            TensorData::Bool(_) => TensorType::Bool,
            TensorData::U8(_) => TensorType::Uint8,
            TensorData::U16(_) => TensorType::Uint16,
            TensorData::U32(_) => TensorType::Uint32,
            TensorData::U64(_) => TensorType::Uint64,
            TensorData::I8(_) => TensorType::Int8,
            TensorData::I16(_) => TensorType::Int16,
            TensorData::I32(_) => TensorType::Int32,
            TensorData::I64(_) => TensorType::Int64,
            TensorData::F16(_) => TensorType::Fp16,
            TensorData::Bf16(_) => TensorType::Bf16,
            TensorData::F32(_) => TensorType::Fp32,
            TensorData::F64(_) => TensorType::Fp64,
            TensorData::Bytes(_) => TensorType::Bytes,
        }
    }

    pub fn len(&self) -> usize {
        with_tensor_data!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty vector of a datatype.
    pub fn empty(datatype: TensorType, capacity: usize) -> Self {
        match datatype {
            TensorType::Bool => TensorData::Bool(Vec::with_capacity(capacity)),
            TensorType::Uint8 => TensorData::U8(Vec::with_capacity(capacity)),
            TensorType::Uint16 => TensorData::U16(Vec::with_capacity(capacity)),
            TensorType::Uint32 => TensorData::U32(Vec::with_capacity(capacity)),
            TensorType::Uint64 => TensorData::U64(Vec::with_capacity(capacity)),
            TensorType::Int8 => TensorData::I8(Vec::with_capacity(capacity)),
            TensorType::Int16 => TensorData::I16(Vec::with_capacity(capacity)),
            TensorType::Int32 => TensorData::I32(Vec::with_capacity(capacity)),
            TensorType::Int64 => TensorData::I64(Vec::with_capacity(capacity)),
            TensorType::Fp16 => TensorData::F16(Vec::with_capacity(capacity)),
            TensorType::Bf16 => TensorData::Bf16(Vec::with_capacity(capacity)),
            TensorType::Fp32 => TensorData::F32(Vec::with_capacity(capacity)),
            TensorType::Fp64 => TensorData::F64(Vec::with_capacity(capacity)),
            TensorType::Bytes => TensorData::Bytes(Vec::with_capacity(capacity)),
        }
    }

    /// `n` zeros (empty strings for `BYTES`), for warming a model up.
    pub fn zeros(datatype: TensorType, n: usize) -> Self {
        let mut data = Self::empty(datatype, n);
        match &mut data {
            TensorData::Bytes(v) => v.resize(n, String::new()),
            TensorData::Bool(v) => v.resize(n, false),
            TensorData::F16(v) => v.resize(n, f16::ZERO),
            TensorData::Bf16(v) => v.resize(n, bf16::ZERO),
            TensorData::F32(v) => v.resize(n, 0.0),
            TensorData::F64(v) => v.resize(n, 0.0),
            TensorData::U8(v) => v.resize(n, 0),
            TensorData::U16(v) => v.resize(n, 0),
            TensorData::U32(v) => v.resize(n, 0),
            TensorData::U64(v) => v.resize(n, 0),
            TensorData::I8(v) => v.resize(n, 0),
            TensorData::I16(v) => v.resize(n, 0),
            TensorData::I32(v) => v.resize(n, 0),
            TensorData::I64(v) => v.resize(n, 0),
        }
        data
    }

    /// Appends `other` (of the same datatype; checked by the caller) to `self`.
    pub fn append(&mut self, other: &TensorData) {
        macro_rules! arms {
            ($($variant:ident),*) => {
                match (self, other) {
                    $((TensorData::$variant(a), TensorData::$variant(b)) => a.extend_from_slice(b),)*
                    _ => unreachable!("datatypes of batched tensors are checked before"),
                }
            };
        }
        arms!(
            Bool, U8, U16, U32, U64, I8, I16, I32, I64, F16, Bf16, F32, F64, Bytes
        )
    }

    /// Elements `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> TensorData {
        macro_rules! arms {
            ($($variant:ident),*) => {
                match self {
                    $(TensorData::$variant(v) => TensorData::$variant(v[start..end].to_vec()),)*
                }
            };
        }
        arms!(
            Bool, U8, U16, U32, U64, I8, I16, I32, I64, F16, Bf16, F32, F64, Bytes
        )
    }

    /// Moves the data into an ONNX Runtime value of `shape`.
    pub fn into_ort(self, shape: &[usize]) -> ort::Result<DynValue> {
        let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        Ok(match self {
            TensorData::Bytes(v) => OrtTensor::from_string_array((shape, &v[..]))?.into_dyn(),
            TensorData::Bool(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::U8(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::U16(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::U32(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::U64(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::I8(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::I16(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::I32(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::I64(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::F16(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::Bf16(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::F32(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
            TensorData::F64(v) => OrtTensor::from_array((shape, v))?.into_dyn(),
        })
    }

    /// Copies an ONNX Runtime output out; `None` for values that are not tensors of a V2
    /// datatype (validation refuses such models, so this is a defect, not user input).
    pub fn from_ort(value: &DynValue) -> ort::Result<Option<(Vec<usize>, TensorData)>> {
        let ValueType::Tensor { ty, shape, .. } = value.dtype() else {
            return Ok(None);
        };
        let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        macro_rules! copy {
            ($variant:ident, $t:ty) => {
                TensorData::$variant(value.try_extract_tensor::<$t>()?.1.to_vec())
            };
        }
        let data = match ty {
            TensorElementType::String => TensorData::Bytes(value.try_extract_strings()?.1),
            TensorElementType::Bool => copy!(Bool, bool),
            TensorElementType::Uint8 => copy!(U8, u8),
            TensorElementType::Uint16 => copy!(U16, u16),
            TensorElementType::Uint32 => copy!(U32, u32),
            TensorElementType::Uint64 => copy!(U64, u64),
            TensorElementType::Int8 => copy!(I8, i8),
            TensorElementType::Int16 => copy!(I16, i16),
            TensorElementType::Int32 => copy!(I32, i32),
            TensorElementType::Int64 => copy!(I64, i64),
            TensorElementType::Float16 => copy!(F16, f16),
            TensorElementType::Bfloat16 => copy!(Bf16, bf16),
            TensorElementType::Float32 => copy!(F32, f32),
            TensorElementType::Float64 => copy!(F64, f64),
            _ => return Ok(None),
        };
        Ok(Some((dims, data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_and_slice_split_along_rows() {
        let mut a = TensorData::F32(vec![1.0, 2.0]);
        a.append(&TensorData::F32(vec![3.0, 4.0, 5.0, 6.0]));
        assert_eq!(a.len(), 6);
        assert_eq!(a.slice(2, 6), TensorData::F32(vec![3.0, 4.0, 5.0, 6.0]));
        assert_eq!(
            TensorData::zeros(TensorType::Bytes, 2),
            TensorData::Bytes(vec![String::new(); 2])
        );
        assert_eq!(
            TensorData::empty(TensorType::Bf16, 0).datatype(),
            TensorType::Bf16
        );
    }
}
