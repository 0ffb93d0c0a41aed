//! The V2 binary extension: a JSON header of `Inference-Header-Content-Length` bytes followed
//! by raw tensor data. The first two bytes choose the header length. Binary data is cut to the
//! shape, so a decoded tensor always holds what its shape says.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let header_length = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let body = &data[2..];
    if let Ok(request) = caravan::http::v2::request::decode(body, Some(header_length)) {
        for input in &request.inputs {
            let values: usize = input.shape.iter().product();
            assert_eq!(input.data.len(), values, "{}: data and shape agree", input.name);
        }
    }
});
