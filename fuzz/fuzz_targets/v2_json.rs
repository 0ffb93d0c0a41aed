//! The Open Inference Protocol V2 request decoder, JSON bodies: any bytes give a request or
//! an error, never a panic. (Whether a tensor's data fits its shape is checked against the
//! model's signature after decoding, by `check_inputs`, for every protocol alike.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = caravan::http::v2::request::decode(body, None);
});
