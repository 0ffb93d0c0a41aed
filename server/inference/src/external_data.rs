//! Refusing tensors that keep their data outside the model file. ONNX Runtime resolves such a
//! tensor's `location` against the model's directory, or against the working directory when
//! the model comes from memory, and reads whatever file it names: a model could make the server
//! read its own files. So every place a tensor can sit is checked, at any depth: initializers,
//! sparse initializers, node attributes (tensors, sparse tensors), subgraphs (`If`, `Loop`,
//! `Scan` bodies and graph-list attributes), model-local functions and training graphs.

use crate::{
    Refusal,
    onnx_proto::{
        AttributeProto, DATA_LOCATION_EXTERNAL, GraphProto, ModelProto, NodeProto,
        SparseTensorProto, TensorProto,
    },
};

/// Refuses the model if any tensor anywhere in it names external data.
pub(crate) fn refuse_external_data(model: &ModelProto) -> Result<(), Refusal> {
    match first_external(model) {
        None => Ok(()),
        Some(tensor) => Err(Refusal(format!(
            "tensor {} keeps its data in an external file ({}); Caravan stores one \
             self-contained .onnx file: re-save the model with \
             onnx.save_model(model, path, save_as_external_data=False)",
            quoted(&tensor.name),
            location(tensor)
        ))),
    }
}

fn first_external(model: &ModelProto) -> Option<&TensorProto> {
    // An explicit stack instead of recursion: nesting is bounded by the decoder (prost's
    // recursion limit), but the walk should not depend on that.
    let mut graphs: Vec<&GraphProto> = model.graph.iter().collect();
    for training in &model.training_info {
        graphs.extend(training.initialization.iter().chain(&training.algorithm));
    }
    let mut nodes: Vec<&NodeProto> = model.functions.iter().flat_map(|f| &f.node).collect();
    loop {
        if let Some(node) = nodes.pop() {
            for attribute in &node.attribute {
                if let Some(tensor) = attribute_tensors(attribute).find(|t| is_external(t)) {
                    return Some(tensor);
                }
                graphs.extend(attribute.g.iter().chain(&attribute.graphs));
            }
        } else if let Some(graph) = graphs.pop() {
            let sparse = graph.sparse_initializer.iter().flat_map(sparse_parts);
            if let Some(tensor) = graph
                .initializer
                .iter()
                .chain(sparse)
                .find(|t| is_external(t))
            {
                return Some(tensor);
            }
            nodes.extend(&graph.node);
        } else {
            return None;
        }
    }
}

fn attribute_tensors(attribute: &AttributeProto) -> impl Iterator<Item = &TensorProto> {
    let sparse = attribute
        .sparse_tensor
        .iter()
        .chain(&attribute.sparse_tensors)
        .flat_map(sparse_parts);
    attribute.t.iter().chain(&attribute.tensors).chain(sparse)
}

fn sparse_parts(sparse: &SparseTensorProto) -> impl Iterator<Item = &TensorProto> {
    sparse.values.iter().chain(&sparse.indices)
}

/// ONNX Runtime looks at `data_location`; `external_data` entries without it are refused too,
/// since other readers of the stored file may follow them.
fn is_external(tensor: &TensorProto) -> bool {
    tensor.data_location == DATA_LOCATION_EXTERNAL || !tensor.external_data.is_empty()
}

fn location(tensor: &TensorProto) -> String {
    tensor
        .external_data
        .iter()
        .find(|e| e.key == "location")
        .map(|e| quoted(&e.value))
        .unwrap_or_else(|| "location not given".into())
}

/// The uploader's own string, quoted and cut short (a name can be megabytes long).
fn quoted(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?}...", &text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_proto::{FunctionProto, StringStringEntryProto, TrainingInfoProto};

    fn external(name: &str) -> TensorProto {
        TensorProto {
            name: name.into(),
            external_data: vec![StringStringEntryProto {
                key: "location".into(),
                value: "caravan.db".into(),
            }],
            data_location: DATA_LOCATION_EXTERNAL,
        }
    }

    fn inline(name: &str) -> TensorProto {
        TensorProto {
            name: name.into(),
            ..Default::default()
        }
    }

    fn with_graph(graph: GraphProto) -> ModelProto {
        ModelProto {
            graph: Some(graph),
            ..Default::default()
        }
    }

    fn node(attribute: AttributeProto) -> NodeProto {
        NodeProto {
            op_type: "Op".into(),
            attribute: vec![attribute],
        }
    }

    fn nested(depth: usize, innermost: GraphProto) -> GraphProto {
        (0..depth).fold(innermost, |inner, _| GraphProto {
            node: vec![node(AttributeProto {
                g: Some(inner),
                ..Default::default()
            })],
            ..Default::default()
        })
    }

    fn refused_name(model: &ModelProto) -> Option<String> {
        first_external(model).map(|t| t.name.clone())
    }

    #[test]
    fn a_tensor_naming_external_data_is_found_wherever_it_sits() {
        let sparse = |values, indices| SparseTensorProto {
            values: Some(values),
            indices: Some(indices),
        };
        let in_graph = |g: GraphProto| with_graph(g);
        let cases: Vec<ModelProto> = vec![
            in_graph(GraphProto {
                initializer: vec![inline("a"), external("hit")],
                ..Default::default()
            }),
            in_graph(GraphProto {
                sparse_initializer: vec![sparse(external("hit"), inline("i"))],
                ..Default::default()
            }),
            in_graph(GraphProto {
                sparse_initializer: vec![sparse(inline("v"), external("hit"))],
                ..Default::default()
            }),
            in_graph(GraphProto {
                node: vec![node(AttributeProto {
                    t: Some(external("hit")),
                    ..Default::default()
                })],
                ..Default::default()
            }),
            in_graph(GraphProto {
                node: vec![node(AttributeProto {
                    tensors: vec![inline("a"), external("hit")],
                    ..Default::default()
                })],
                ..Default::default()
            }),
            in_graph(GraphProto {
                node: vec![node(AttributeProto {
                    sparse_tensor: Some(sparse(external("hit"), inline("i"))),
                    ..Default::default()
                })],
                ..Default::default()
            }),
            in_graph(GraphProto {
                node: vec![node(AttributeProto {
                    sparse_tensors: vec![sparse(inline("v"), external("hit"))],
                    ..Default::default()
                })],
                ..Default::default()
            }),
            in_graph(GraphProto {
                node: vec![node(AttributeProto {
                    graphs: vec![
                        GraphProto::default(),
                        GraphProto {
                            initializer: vec![external("hit")],
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                })],
                ..Default::default()
            }),
            in_graph(nested(
                40,
                GraphProto {
                    initializer: vec![external("hit")],
                    ..Default::default()
                },
            )),
            ModelProto {
                graph: Some(GraphProto::default()),
                functions: vec![FunctionProto {
                    name: "f".into(),
                    node: vec![node(AttributeProto {
                        g: Some(GraphProto {
                            node: vec![node(AttributeProto {
                                t: Some(external("hit")),
                                ..Default::default()
                            })],
                            ..Default::default()
                        }),
                        ..Default::default()
                    })],
                }],
                ..Default::default()
            },
            ModelProto {
                graph: Some(GraphProto::default()),
                training_info: vec![TrainingInfoProto {
                    initialization: None,
                    algorithm: Some(GraphProto {
                        initializer: vec![external("hit")],
                        ..Default::default()
                    }),
                }],
                ..Default::default()
            },
            // `external_data` entries alone, without the EXTERNAL location.
            in_graph(GraphProto {
                initializer: vec![TensorProto {
                    data_location: 0,
                    ..external("hit")
                }],
                ..Default::default()
            }),
        ];
        for (i, model) in cases.iter().enumerate() {
            assert_eq!(refused_name(model).as_deref(), Some("hit"), "case {i}");
            let refusal = refuse_external_data(model).unwrap_err().0;
            assert!(refusal.contains("\"caravan.db\""), "{refusal}");
        }
    }

    #[test]
    fn a_model_whose_tensors_are_all_inline_passes() {
        let model = with_graph(nested(
            3,
            GraphProto {
                initializer: vec![inline("w")],
                node: vec![node(AttributeProto {
                    t: Some(inline("c")),
                    ..Default::default()
                })],
                ..Default::default()
            },
        ));
        assert_eq!(refused_name(&model), None);
        assert!(refuse_external_data(&model).is_ok());
    }

    #[test]
    fn long_names_are_cut_short_in_the_refusal() {
        let model = with_graph(GraphProto {
            initializer: vec![external(&"n".repeat(1 << 20))],
            ..Default::default()
        });
        let refusal = refuse_external_data(&model).unwrap_err().0;
        assert!(refusal.len() < 1000, "{} bytes", refusal.len());
    }
}
