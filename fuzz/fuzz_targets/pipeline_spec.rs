//! Pipeline specs as users send them, JSON and YAML, through the same checks as the API.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let _ = caravan_pipelines::spec::parse(value);
    }
    if let Ok(value) = serde_norway::from_slice::<serde_json::Value>(bytes) {
        let _ = caravan_pipelines::spec::parse(value);
    }
});
