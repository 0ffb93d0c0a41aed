//! The V2 binary extension: a JSON header of `Inference-Header-Content-Length` bytes followed
//! by raw tensor data. The first two bytes choose the header length. Any bytes give a request
//! or an error, never a panic (inputs may also carry JSON data, whose fit to the shape is
//! checked against the model's signature after decoding, as in `v2_json`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let header_length = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let _ = caravan::http::v2::request::decode(&data[2..], Some(header_length));
});
