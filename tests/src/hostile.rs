//! Hostile models: every place an ONNX tensor can name an external file, each aimed at a file
//! of the test's choosing (the server's own database). Without Caravan's check, ONNX Runtime
//! loads each of them and reads the file.

use prost::Message;

use super::onnx::{
    FunctionProto, GraphProto, OperatorSetIdProto, SparseTensorProto, TensorProto, data_type,
    external_floats, floats, graph, graph_attribute, int64s, model, node, tensor_attribute,
    tensor_info,
};

/// Four floats read from the target file: enough to turn its first bytes into numbers.
const N: i64 = 4;

fn output(name: &str) -> super::onnx::ValueInfoProto {
    tensor_info(name, data_type::FLOAT, &[Some(N)])
}

fn identity_of(initializer: TensorProto) -> GraphProto {
    let name = initializer.name.clone();
    graph(
        "leak",
        vec![node("Identity", &[&name], &["y"])],
        vec![],
        vec![output("y")],
        vec![initializer],
    )
}

fn constant(value: TensorProto, out: &str) -> super::onnx::NodeProto {
    node("Constant", &[], &[out]).with(tensor_attribute("value", value))
}

fn sparse(values: TensorProto, indices: TensorProto, dims: &[i64]) -> SparseTensorProto {
    SparseTensorProto {
        values: Some(values),
        indices: Some(indices),
        dims: dims.to_vec(),
    }
}

/// `If(c)` whose `then` branch is `then` (answering `o`) and whose `else` branch is zeros.
fn branch(then: GraphProto) -> GraphProto {
    let zeros = graph(
        "zeros",
        vec![constant(floats("z", &[N], &[0.0; 4]), "o")],
        vec![],
        vec![output("o")],
        vec![],
    );
    let choose = node("If", &["c"], &["y"])
        .with(graph_attribute("then_branch", then))
        .with(graph_attribute("else_branch", zeros));
    graph(
        "leak",
        vec![choose],
        vec![tensor_info("c", data_type::BOOL, &[])],
        vec![output("y")],
        vec![],
    )
}

/// A branch answering `o` from the initializer `w`.
fn branch_reading(w: TensorProto) -> GraphProto {
    let name = w.name.clone();
    graph(
        "then",
        vec![node("Identity", &[&name], &["o"])],
        vec![],
        vec![output("o")],
        vec![w],
    )
}

/// Models that read `location` (as ONNX Runtime resolves it) through external data, named by
/// where the external tensor sits.
pub fn external_data_models(location: &str) -> Vec<(&'static str, Vec<u8>)> {
    let ext = |name: &str| external_floats(name, N, location);
    let mut forms: Vec<(&'static str, super::onnx::ModelProto)> = vec![
        ("a dense initializer", model(identity_of(ext("w")))),
        (
            "external_data entries without data_location",
            model(identity_of(TensorProto {
                data_location: 0,
                ..ext("w")
            })),
        ),
        ("a sparse initializer's values", {
            let mut g = identity_of(floats("unused", &[1], &[0.0]));
            g.node = vec![node("Identity", &["w"], &["y"])];
            g.sparse_initializer = vec![sparse(
                external_floats("w", 2, location),
                int64s("w_indices", &[2], &[0, 1]),
                &[N],
            )];
            model(g)
        }),
        ("a sparse initializer's indices", {
            let mut g = identity_of(floats("unused", &[1], &[0.0]));
            g.node = vec![node("Identity", &["w"], &["y"])];
            // Two int64 indices: the length of four floats.
            let mut indices = external_floats("w_indices", 4, location);
            indices.dims = vec![2];
            indices.data_type = data_type::INT64;
            g.sparse_initializer = vec![sparse(floats("w", &[2], &[1.0, 2.0]), indices, &[N])];
            model(g)
        }),
        (
            "a Constant node's value",
            model(graph(
                "leak",
                vec![constant(ext("w"), "y")],
                vec![],
                vec![output("y")],
                vec![],
            )),
        ),
        ("a Constant node's sparse value", {
            // ONNX Runtime takes sparse constants of rank 2 only.
            let value = sparse(
                external_floats("w", 2, location),
                int64s("w_indices", &[2], &[0, 1]),
                &[1, N],
            );
            let leak = node("Constant", &[], &["y"]).with(super::onnx::AttributeProto {
                name: "sparse_value".into(),
                r#type: super::onnx::attribute_type::SPARSE_TENSOR,
                sparse_tensor: Some(value),
                ..Default::default()
            });
            let y = tensor_info("y", data_type::FLOAT, &[Some(1), Some(N)]);
            model(graph("leak", vec![leak], vec![], vec![y], vec![]))
        }),
        (
            "an If branch's initializer",
            model(branch(branch_reading(ext("w")))),
        ),
        (
            "a Constant node inside an If branch",
            model(branch(graph(
                "then",
                vec![constant(ext("w"), "o")],
                vec![],
                vec![output("o")],
                vec![],
            ))),
        ),
        ("an If branch two levels deep", {
            let mut inner = branch(branch_reading(ext("w")));
            // The inner If reads the outer graph's `c`; it answers the outer branch's `o`.
            inner.input.clear();
            inner.name = "then".into();
            inner.node[0].output = vec!["o".into()];
            inner.output = vec![output("o")];
            model(branch(inner))
        }),
        ("a model-local function", {
            let function = FunctionProto {
                name: "Leak".into(),
                input: vec![],
                output: vec!["out".into()],
                node: vec![constant(ext("w"), "out")],
                opset_import: vec![OperatorSetIdProto {
                    domain: String::new(),
                    version: 17,
                }],
                domain: "caravan.test".into(),
            };
            let mut call = node("Leak", &[], &["y"]);
            call.domain = "caravan.test".into();
            let mut m = model(graph("leak", vec![call], vec![], vec![output("y")], vec![]));
            m.functions = vec![function];
            m.opset_import.push(OperatorSetIdProto {
                domain: "caravan.test".into(),
                version: 1,
            });
            m
        }),
    ];
    forms
        .drain(..)
        .map(|(form, m)| (form, m.encode_to_vec()))
        .collect()
}
