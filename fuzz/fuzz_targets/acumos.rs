//! What Acumos clients and peers send: metadata.json, model.proto (compiled in memory),
//! license.json, model.zip's central directory, and model-runner messages (JSON and protobuf)
//! against a generated interface. Nothing may panic, and nothing that passes may break the
//! invariants the rest relies on.
#![no_main]

use std::sync::LazyLock;

use caravan_core::acumos::{Encoding, RunnerSchema, bundle, codec, metadata, proto};
use caravan_domain::{Signature, TensorSpec, TensorType};
use libfuzzer_sys::fuzz_target;

static SCHEMA: LazyLock<RunnerSchema> = LazyLock::new(|| {
    let spec = |name: &str, datatype, shape: &[i64]| TensorSpec {
        name: name.into(),
        datatype,
        shape: shape.to_vec(),
    };
    let signature = Signature {
        inputs: vec![
            spec("X", TensorType::Fp32, &[-1, 3]),
            spec("ids", TensorType::Int64, &[-1, -1]),
            spec("text", TensorType::Bytes, &[-1]),
        ],
        outputs: vec![spec("y", TensorType::Fp32, &[-1])],
    };
    RunnerSchema::of("fuzz", &signature, None).expect("a generated interface binds")
});

fuzz_target!(|bytes: &[u8]| {
    let Some((&selector, rest)) = bytes.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            if let Ok(meta) = metadata::parse(rest) {
                assert!(!meta.methods.is_empty() && !meta.name.is_empty());
                assert!(meta.requirements.iter().all(|r| !r.contains(['\n', ' ', ';'])));
            }
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(pool) = proto::compile(&text) {
                let _ = proto::methods(&pool);
            }
            let signature = Signature::default();
            let interface = caravan_domain::AcumosInterface {
                proto: text.into_owned(),
                ..Default::default()
            };
            let _ = RunnerSchema::of("fuzz", &signature, Some(&interface));
        }
        2 => {
            let _ = bundle::license_name(rest);
        }
        3 => {
            let _ = bundle::check_model_zip(std::io::Cursor::new(rest), rest.len() as u64);
        }
        _ => {
            let method = SCHEMA.method("predict").expect("predict");
            for encoding in [Encoding::Json, Encoding::Protobuf] {
                if let Ok(tensors) = codec::decode(method, encoding, rest) {
                    for t in tensors {
                        assert_eq!(t.shape.iter().product::<usize>(), t.data.len());
                    }
                }
            }
        }
    }
});
