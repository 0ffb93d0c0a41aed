//! What MLflow clients send that Caravan parses itself: MLmodel files (YAML), artifact paths,
//! and the protobuf wire format of a model whose external data is inlined. Nothing may panic,
//! and nothing that passes may break the invariants the rest relies on.
#![no_main]

use caravan_core::tracking::{artifacts::ArtifactPath, mlmodel, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Some((&selector, rest)) = bytes.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(model) = mlmodel::parse(rest) {
                assert!(!model.onnx_file.is_empty());
            }
        }
        1 => {
            let Ok(raw) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(path) = ArtifactPath::parse(raw) {
                // Every accepted path stays below its owner: no step up, nothing empty.
                assert!(path.path.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
                assert!(path.path.split('/').nth(2).is_some());
                assert!(!path.path.contains('\\'));
            }
        }
        _ => {
            if let Some(fields) = wire::fields(rest) {
                let total: usize = fields.iter().map(|f| f.raw.len()).sum();
                assert_eq!(total, rest.len(), "fields cover the message exactly");
                for field in &fields {
                    if let Some(payload) = field.payload {
                        assert!(field.raw.ends_with(payload));
                        let _ = wire::fields(payload);
                    }
                }
            }
        }
    }
});
