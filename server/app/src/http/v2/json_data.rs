//! JSON tensor data, nested (`[[1, 2], [3, 4]]`) or flat (`[1, 2, 3, 4]`), decoded straight
//! into a typed vector without building a JSON tree. serde_json's recursion limit turns a
//! nesting bomb into an ordinary error.

use std::{fmt, marker::PhantomData};

use caravan_domain::TensorType;
use caravan_inference::serving::TensorData;
use half::{bf16, f16};
use serde::de::{DeserializeSeed, Deserializer, Error, SeqAccess, Visitor};

/// Decodes the raw JSON `data` of a tensor of `datatype`.
pub fn decode(datatype: TensorType, raw: &str) -> Result<TensorData, String> {
    fn run<T: Scalar>(raw: &str) -> Result<Vec<T>, String> {
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_str(raw);
        Flatten(&mut out)
            .deserialize(&mut de)
            .map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(out)
    }
    Ok(match datatype {
        TensorType::Fp16 | TensorType::Bf16 => {
            return Err(format!(
                "{datatype} data cannot be sent as JSON; send it as binary data (binary_data_size)"
            ));
        }
        TensorType::Bool => TensorData::Bool(run(raw)?),
        TensorType::Uint8 => TensorData::U8(run(raw)?),
        TensorType::Uint16 => TensorData::U16(run(raw)?),
        TensorType::Uint32 => TensorData::U32(run(raw)?),
        TensorType::Uint64 => TensorData::U64(run(raw)?),
        TensorType::Int8 => TensorData::I8(run(raw)?),
        TensorType::Int16 => TensorData::I16(run(raw)?),
        TensorType::Int32 => TensorData::I32(run(raw)?),
        TensorType::Int64 => TensorData::I64(run(raw)?),
        TensorType::Fp32 => TensorData::F32(run(raw)?),
        TensorType::Fp64 => TensorData::F64(run(raw)?),
        TensorType::Bytes => TensorData::Bytes(run(raw)?),
    })
}

/// An element type that JSON scalars convert into.
trait Scalar: Sized {
    const EXPECTED: &'static str;
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    fn from_str(_: &str) -> Option<Self> {
        None
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const EXPECTED: &'static str = concat!("an integer that fits ", stringify!($t));
            fn from_i64(v: i64) -> Option<Self> { Self::try_from(v).ok() }
            fn from_u64(v: u64) -> Option<Self> { Self::try_from(v).ok() }
        }
    )*};
}
integer!(u8, u16, u32, u64, i8, i16, i32, i64);

macro_rules! float {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const EXPECTED: &'static str = "a number";
            fn from_i64(v: i64) -> Option<Self> { Some(v as $t) }
            fn from_u64(v: u64) -> Option<Self> { Some(v as $t) }
            fn from_f64(v: f64) -> Option<Self> { Some(v as $t) }
        }
    )*};
}
float!(f32, f64);

impl Scalar for bool {
    const EXPECTED: &'static str = "true or false";
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
}

impl Scalar for String {
    const EXPECTED: &'static str = "a string";
    fn from_str(v: &str) -> Option<Self> {
        Some(v.to_owned())
    }
}

// FP16/BF16 never reach the decoder (refused above); these impls only satisfy the bounds.
impl Scalar for f16 {
    const EXPECTED: &'static str = "binary data";
}
impl Scalar for bf16 {
    const EXPECTED: &'static str = "binary data";
}

struct Flatten<'a, T>(&'a mut Vec<T>);

impl<'de, T: Scalar> DeserializeSeed<'de> for Flatten<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(FlattenVisitor(self.0, PhantomData))
    }
}

struct FlattenVisitor<'a, T>(&'a mut Vec<T>, PhantomData<T>);

impl<T: Scalar> FlattenVisitor<'_, T> {
    fn push<E: Error>(self, value: Option<T>, got: impl fmt::Display) -> Result<(), E> {
        match value {
            Some(v) => {
                self.0.push(v);
                Ok(())
            }
            None => Err(E::custom(format!("expected {}, found {got}", T::EXPECTED))),
        }
    }
}

impl<'de, T: Scalar> Visitor<'de> for FlattenVisitor<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {}", T::EXPECTED)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Flatten(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<(), E> {
        self.push(T::from_i64(v), v)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<(), E> {
        self.push(T::from_u64(v), v)
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<(), E> {
        self.push(T::from_f64(v), v)
    }

    fn visit_bool<E: Error>(self, v: bool) -> Result<(), E> {
        self.push(T::from_bool(v), v)
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<(), E> {
        self.push(T::from_str(v), format!("{v:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_flat_arrays_decode_alike() {
        let flat = decode(TensorType::Fp32, "[1, 2.5, 3, 4]").unwrap();
        assert_eq!(
            flat,
            decode(TensorType::Fp32, "[[1, 2.5], [3, 4]]").unwrap()
        );
        assert_eq!(
            decode(TensorType::Int64, "[[-1], [2]]").unwrap(),
            TensorData::I64(vec![-1, 2])
        );
        assert_eq!(
            decode(TensorType::Bool, "[true, false]").unwrap(),
            TensorData::Bool(vec![true, false])
        );
        assert_eq!(
            decode(TensorType::Bytes, r#"["a", "b"]"#).unwrap(),
            TensorData::Bytes(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            decode(TensorType::Uint8, "7").unwrap(),
            TensorData::U8(vec![7])
        );
    }

    #[test]
    fn wrong_types_ranges_and_depth_bombs_are_refused() {
        assert!(
            decode(TensorType::Int32, "[1.5]")
                .unwrap_err()
                .contains("integer")
        );
        assert!(
            decode(TensorType::Uint8, "[256]")
                .unwrap_err()
                .contains("u8")
        );
        assert!(
            decode(TensorType::Bool, "[1]")
                .unwrap_err()
                .contains("true or false")
        );
        assert!(
            decode(TensorType::Fp32, r#"["1"]"#)
                .unwrap_err()
                .contains("a number")
        );
        assert!(
            decode(TensorType::Fp16, "[1]")
                .unwrap_err()
                .contains("binary")
        );
        let bomb = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(
            decode(TensorType::Fp32, &bomb)
                .unwrap_err()
                .contains("recursion limit")
        );
        assert!(decode(TensorType::Fp32, "[1] x").is_err());
    }
}
