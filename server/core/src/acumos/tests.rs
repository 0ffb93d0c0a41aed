use caravan_domain::{AcumosInterface, Signature, TensorSpec, TensorType};
use caravan_inference::serving::{NamedTensor, TensorData};
use prost::Message;
use prost_reflect::{DynamicMessage, Value};

use super::{Encoding, RunnerSchema, codec, schema};

fn spec(name: &str, datatype: TensorType, shape: &[i64]) -> TensorSpec {
    TensorSpec {
        name: name.into(),
        datatype,
        shape: shape.to_vec(),
    }
}

fn forensics() -> Signature {
    Signature {
        inputs: vec![spec("float_input", TensorType::Fp32, &[-1, 3])],
        outputs: vec![
            spec("label", TensorType::Int64, &[-1]),
            spec("probabilities", TensorType::Fp32, &[-1, 2]),
        ],
    }
}

#[test]
fn a_generated_interface_has_predict_with_one_field_per_tensor() {
    let schema = RunnerSchema::of("fraud-model.v2", &forensics(), None).unwrap();
    assert!(
        schema.proto.contains("package caravan.fraud_model_v2;"),
        "{}",
        schema.proto
    );
    assert!(
        schema
            .proto
            .contains("rpc predict (PredictIn) returns (PredictOut);")
    );
    assert!(schema.proto.contains("repeated float float_input = 1;"));
    assert!(schema.proto.contains("repeated int64 label = 1;"));
    let predict = schema.method("predict").unwrap();
    assert_eq!(predict.inputs.len(), 1);
    assert_eq!(predict.outputs.len(), 2);
    assert!(schema.method("add").is_none());
    let interface = schema.interface();
    assert_eq!(interface.methods[0].input, "PredictIn");
}

#[test]
fn odd_tensor_names_become_unique_identifiers() {
    let signature = Signature {
        inputs: vec![
            spec("input.1", TensorType::Fp32, &[1]),
            spec("input_1", TensorType::Fp32, &[1]),
            spec("0", TensorType::Int64, &[1]),
        ],
        outputs: vec![spec("out", TensorType::Fp32, &[-1, -1])],
    };
    let schema = RunnerSchema::of("m", &signature, None).unwrap();
    for field in [
        "input_1 = 1",
        "input_1_2 = 2",
        "t0 = 3",
        "out = 1",
        "out_shape = 2",
    ] {
        assert!(schema.proto.contains(field), "{field} in {}", schema.proto);
    }
}

fn json(schema: &RunnerSchema, body: &str) -> Result<Vec<NamedTensor>, String> {
    codec::decode(
        schema.method("predict").unwrap(),
        Encoding::Json,
        body.as_bytes(),
    )
}

#[test]
fn json_requests_become_tensors_with_the_batch_dimension_inferred() {
    let schema = RunnerSchema::of("m", &forensics(), None).unwrap();
    let tensors = json(&schema, r#"{"float_input": [1, 2, 3, 4, 5, 6.5]}"#).unwrap();
    assert_eq!(tensors[0].shape, vec![2, 3]);
    assert_eq!(
        tensors[0].data,
        TensorData::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5])
    );
    // The proto3 JSON name (lowerCamelCase) is read too.
    assert!(json(&schema, r#"{"floatInput": [1, 2, 3]}"#).is_ok());
    for (bad, why) in [
        (r#"{"float_input": [1, 2]}"#, "multiple of 3"),
        ("{}", "missing"),
        (r#"{"float_input": [1, 2, 3], "extra": 1}"#, "extra"),
        (r#"{"float_input": "x"}"#, "not a JSON"),
        ("[1]", "not a JSON"),
        (r#"{"float_input": [1, 2, 3]} {}"#, "more after"),
    ] {
        let error = json(&schema, bad).unwrap_err();
        assert!(error.contains(why), "{bad}: {error}");
    }
}

#[test]
fn protobuf_requests_decode_and_answers_encode_int64_as_json_strings() {
    let schema = RunnerSchema::of("m", &forensics(), None).unwrap();
    let predict = schema.method("predict").unwrap();
    let mut request = DynamicMessage::new(predict.input.clone());
    request.set_field_by_name("float_input", Value::List(vec![Value::F32(0.25); 3]));
    let tensors = codec::decode(predict, Encoding::Protobuf, &request.encode_to_vec()).unwrap();
    assert_eq!(tensors[0].shape, vec![1, 3]);
    assert!(codec::decode(predict, Encoding::Protobuf, b"\xff\xff\xff").is_err());
    // Field 1 as a varint where a packed float list belongs.
    assert!(codec::decode(predict, Encoding::Protobuf, b"\x08\x01").is_err());

    let outputs = vec![
        NamedTensor {
            name: "label".into(),
            shape: vec![1],
            data: TensorData::I64(vec![1]),
        },
        NamedTensor {
            name: "probabilities".into(),
            shape: vec![1, 2],
            data: TensorData::F32(vec![0.125, 0.875]),
        },
    ];
    let answer = codec::encode(predict, Encoding::Json, &outputs).unwrap();
    assert_eq!(
        String::from_utf8(answer).unwrap(),
        r#"{"label":["1"],"probabilities":[0.125,0.875]}"#
    );
    let bytes = codec::encode(predict, Encoding::Protobuf, &outputs).unwrap();
    let decoded = DynamicMessage::decode(predict.output.clone(), bytes.as_slice()).unwrap();
    assert_eq!(
        decoded
            .get_field_by_name("probabilities")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        2
    );
    assert!(codec::encode(predict, Encoding::Json, &outputs[..1]).is_err());
}

#[test]
fn tensors_with_two_open_dimensions_travel_with_their_shape() {
    let signature = Signature {
        inputs: vec![spec("x", TensorType::Int64, &[-1, -1])],
        outputs: vec![spec("y", TensorType::Int64, &[-1, -1])],
    };
    let schema = RunnerSchema::of("m", &signature, None).unwrap();
    let tensors = json(&schema, r#"{"x": ["1", 2, 3, 4], "x_shape": [1, 4]}"#).unwrap();
    assert_eq!(tensors[0].shape, vec![1, 4]);
    assert_eq!(tensors[0].data, TensorData::I64(vec![1, 2, 3, 4]));
    assert!(
        json(&schema, r#"{"x": [1, 2, 3, 4]}"#)
            .unwrap_err()
            .contains("_shape")
    );
    assert!(json(&schema, r#"{"x": [1, 2, 3, 4], "x_shape": [3, 1]}"#).is_err());
    assert!(json(&schema, r#"{"x": [1], "x_shape": [1, 1, 1]}"#).is_err());
}

fn supplied(proto: &str) -> Result<RunnerSchema, String> {
    let interface = AcumosInterface {
        proto: proto.into(),
        ..Default::default()
    };
    RunnerSchema::of("m", &forensics(), Some(&interface))
}

#[test]
fn a_supplied_proto_is_used_when_it_names_the_tensors_with_their_types() {
    let ok = supplied(
        r#"syntax = "proto3";
        service Model {
          rpc classify (Features) returns (Label);
          rpc score (Features) returns (Scores);
        }
        message Features { repeated float float_input = 1; }
        message Label { repeated int64 label = 1; }
        message Scores { repeated float probabilities = 3; repeated int64 label = 4; }"#,
    )
    .unwrap();
    assert_eq!(ok.methods.len(), 2);
    assert_eq!(
        codec::output_names(ok.method("classify").unwrap()),
        vec!["label"]
    );
    for (proto, why) in [
        ("syntax = \"proto3\"; message A {}", "no service"),
        (
            "syntax = \"proto3\"; service M { rpc p (A) returns (B); } message A { repeated float x = 1; } message B { repeated int64 label = 1; }",
            "no field float_input",
        ),
        (
            "syntax = \"proto3\"; service M { rpc p (A) returns (B); } message A { repeated double float_input = 1; } message B { repeated int64 label = 1; }",
            "repeated float",
        ),
        (
            "syntax = \"proto3\"; service M { rpc p (A) returns (B); } message A { float float_input = 1; } message B { repeated int64 label = 1; }",
            "repeated float",
        ),
        (
            "syntax = \"proto3\"; service M { rpc p (A) returns (B); } message A { repeated float float_input = 1; } message B { repeated int64 nope = 1; }",
            "not one of",
        ),
        (
            "syntax = \"proto3\"; service M { rpc p (A) returns (B); } message A { repeated float float_input = 1; } message B {}",
            "none of",
        ),
        (
            "syntax = \"proto3\"; service M { rpc p (A) returns (B); }",
            "does not compile",
        ),
    ] {
        let error = supplied(proto).unwrap_err();
        assert!(error.contains(why), "{proto}: {error}");
    }
}

#[test]
fn identifiers_start_with_a_letter() {
    assert_eq!(schema::identifier("9lives"), "t9lives");
    assert_eq!(schema::identifier("_x"), "t_x");
    assert_eq!(schema::identifier("a-b:c"), "a_b_c");
}

#[test]
fn metadata_reads_schemas_0_4_to_0_6_and_refuses_what_would_reach_pip() {
    use super::metadata;
    let clio = br#"{"schema": "acumos.schema.model:0.4.0", "name": "adder",
        "runtime": {"name": "python", "version": "3.6.8"},
        "methods": {"add": {"input": "AddIn", "output": "AddOut", "description": "sum"}}}"#;
    let parsed = metadata::parse(clio).unwrap();
    assert_eq!(parsed.methods[0].input, "AddIn");
    assert_eq!(parsed.runtime, "python 3.6.8");
    let with = |requirement: &str| {
        format!(
            r#"{{"schema": "acumos.schema.model:0.6.0", "name": "a", "runtime": {{"name": "python",
            "version": "3.9", "dependencies": {{"pip": {{"requirements": [{requirement}]}}}}}},
            "methods": {{"f": {{"input": {{"name": "I"}}, "output": {{"name": "O"}}}}}}}}"#
        )
    };
    let ok = metadata::parse(with(r#"{"name": "scikit-learn", "version": "1.3.2"}"#).as_bytes())
        .unwrap();
    assert_eq!(ok.requirements, vec!["scikit-learn==1.3.2"]);
    for bad in [
        r#"{"name": "dill\n--index-url http://evil", "version": "1"}"#,
        r#"{"name": "--extra-index-url=http://evil"}"#,
        r#"{"name": "x", "version": "1; os_name"}"#,
    ] {
        assert!(
            metadata::parse(with(bad).as_bytes())
                .unwrap_err()
                .contains("pip requirement"),
            "{bad}"
        );
    }
    assert!(metadata::parse(br#"{"schema": "acumos.schema.model:0.7.0"}"#).is_err());
    assert!(metadata::parse(br#"{"schema": "acumos.schema.model:0.6.0", "name": "a", "runtime": {}, "methods": {}}"#)
        .unwrap_err()
        .contains("no method"));
}
