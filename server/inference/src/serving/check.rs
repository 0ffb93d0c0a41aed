//! Checking a request's tensors against the model's signature before anything reaches ONNX
//! Runtime: names, datatypes, ranks, fixed dimensions, element counts and the row cap.

use caravan_domain::Signature;

use super::NamedTensor;

/// Returns a precise message for the first problem found.
pub fn check_inputs(
    signature: &Signature,
    inputs: &[NamedTensor],
    max_rows: usize,
) -> Result<(), String> {
    for input in inputs {
        let Some(spec) = signature.inputs.iter().find(|s| s.name == input.name) else {
            let known: Vec<&str> = signature.inputs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "unknown input {:?}; the model takes {}",
                input.name,
                known.join(", ")
            ));
        };
        if inputs.iter().filter(|i| i.name == input.name).count() > 1 {
            return Err(format!("input {:?} is sent twice", input.name));
        }
        if input.data.datatype() != spec.datatype {
            return Err(format!(
                "input {:?} must be {}, not {}",
                input.name,
                spec.datatype,
                input.data.datatype()
            ));
        }
        if input.shape.len() != spec.shape.len() {
            return Err(format!(
                "input {:?} has shape {:?}; the model expects {} dimensions ({:?}, -1 = any)",
                input.name,
                input.shape,
                spec.shape.len(),
                spec.shape
            ));
        }
        for (i, (&got, &want)) in input.shape.iter().zip(&spec.shape).enumerate() {
            if want >= 0 && got as i64 != want {
                return Err(format!(
                    "input {:?} dimension {i} is {got}; the model expects {want} (shape {:?})",
                    input.name, spec.shape
                ));
            }
        }
        let elements: usize = input.shape.iter().product();
        if elements != input.data.len() {
            return Err(format!(
                "input {:?} has shape {:?} ({elements} elements) but {} were sent",
                input.name,
                input.shape,
                input.data.len()
            ));
        }
        if let Some(&rows) = input.shape.first()
            && rows > max_rows
        {
            return Err(format!(
                "input {:?} has {rows} rows; at most {max_rows} are accepted per request",
                input.name
            ));
        }
    }
    if let Some(missing) = signature
        .inputs
        .iter()
        .find(|s| !inputs.iter().any(|i| i.name == s.name))
    {
        return Err(format!("input {:?} is missing", missing.name));
    }
    Ok(())
}

/// Checks that requested outputs exist.
pub fn check_outputs(signature: &Signature, requested: &[String]) -> Result<(), String> {
    for name in requested {
        if !signature.outputs.iter().any(|o| &o.name == name) {
            let known: Vec<&str> = signature.outputs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "unknown output {name:?}; the model returns {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use caravan_domain::{TensorSpec, TensorType};

    use super::*;
    use crate::serving::TensorData;

    fn signature() -> Signature {
        Signature {
            inputs: vec![TensorSpec {
                name: "x".into(),
                datatype: TensorType::Fp32,
                shape: vec![-1, 2],
            }],
            outputs: vec![TensorSpec {
                name: "y".into(),
                datatype: TensorType::Fp32,
                shape: vec![-1, 2],
            }],
        }
    }

    fn x(shape: Vec<usize>, n: usize) -> NamedTensor {
        NamedTensor {
            name: "x".into(),
            shape,
            data: TensorData::F32(vec![0.0; n]),
        }
    }

    #[test]
    fn valid_inputs_pass_and_each_mistake_is_named() {
        let s = signature();
        assert!(check_inputs(&s, &[x(vec![3, 2], 6)], 10).is_ok());
        let err = |inputs: &[NamedTensor]| check_inputs(&s, inputs, 10).unwrap_err();
        assert!(err(&[]).contains("missing"));
        assert!(err(&[x(vec![3, 3], 9)]).contains("dimension 1 is 3"));
        assert!(err(&[x(vec![6], 6)]).contains("2 dimensions"));
        assert!(err(&[x(vec![3, 2], 5)]).contains("5 were sent"));
        assert!(err(&[x(vec![11, 2], 22)]).contains("at most 10"));
        assert!(err(&[x(vec![1, 2], 2), x(vec![1, 2], 2)]).contains("twice"));
        let wrong_type = NamedTensor {
            name: "x".into(),
            shape: vec![1, 2],
            data: TensorData::F64(vec![0.0; 2]),
        };
        assert!(err(&[wrong_type]).contains("must be FP32, not FP64"));
        let unknown = NamedTensor {
            name: "z".into(),
            shape: vec![1],
            data: TensorData::F32(vec![0.0]),
        };
        assert!(err(&[unknown]).contains("unknown input \"z\""));
        assert!(check_outputs(&s, &["y".into()]).is_ok());
        assert!(
            check_outputs(&s, &["q".into()])
                .unwrap_err()
                .contains("unknown output")
        );
    }
}
