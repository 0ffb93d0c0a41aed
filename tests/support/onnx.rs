//! Writes ONNX models of any size for tests: `y = x + w` with a float initializer `w` of `n`
//! elements, encoded by hand (protobuf wire format) so tests need no Python at run time.

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u32, v: u64) {
    varint(out, u64::from(field << 3));
    varint(out, v);
}

fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A float32 tensor value-info of shape `[n]`.
fn value_info(name: &str, n: u64) -> Vec<u8> {
    let mut dim = Vec::new();
    field_varint(&mut dim, 1, n);
    let mut shape = Vec::new();
    field_bytes(&mut shape, 1, &dim);
    let mut tensor_type = Vec::new();
    field_varint(&mut tensor_type, 1, 1); // elem_type FLOAT
    field_bytes(&mut tensor_type, 2, &shape);
    let mut type_proto = Vec::new();
    field_bytes(&mut type_proto, 1, &tensor_type);
    let mut info = Vec::new();
    field_bytes(&mut info, 1, name.as_bytes());
    field_bytes(&mut info, 2, &type_proto);
    info
}

/// The bytes of a valid ONNX model whose initializer holds `n` float32 values.
pub fn add_model(n: u64) -> Vec<u8> {
    let mut node = Vec::new();
    field_bytes(&mut node, 1, b"x");
    field_bytes(&mut node, 1, b"w");
    field_bytes(&mut node, 2, b"y");
    field_bytes(&mut node, 4, b"Add");
    let mut initializer = Vec::new();
    field_varint(&mut initializer, 1, n); // dims
    field_varint(&mut initializer, 2, 1); // data_type FLOAT
    field_bytes(&mut initializer, 8, b"w");
    field_bytes(&mut initializer, 9, &vec![0u8; (n * 4) as usize]); // raw_data
    let mut graph = Vec::new();
    field_bytes(&mut graph, 1, &node);
    field_bytes(&mut graph, 2, b"large");
    field_bytes(&mut graph, 5, &initializer);
    field_bytes(&mut graph, 11, &value_info("x", n));
    field_bytes(&mut graph, 12, &value_info("y", n));
    let mut opset = Vec::new();
    field_varint(&mut opset, 2, 17);
    let mut model = Vec::new();
    field_varint(&mut model, 1, 8); // ir_version
    field_bytes(&mut model, 2, b"caravan-tests");
    field_bytes(&mut model, 7, &graph);
    field_bytes(&mut model, 8, &opset);
    model
}
