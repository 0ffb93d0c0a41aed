//! What onboarding reads of a model before ONNX Runtime sees it: the format check and the
//! external-data walk over every graph, subgraph, function and attribute tensor.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = caravan_inference::check_self_contained(bytes);
});
