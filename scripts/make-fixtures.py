#!/usr/bin/env python3
"""Writes the small ONNX test fixtures in tests/fixtures/ (committed; rerun to regenerate).

Needs `pip install onnx==1.23.2 numpy==2.4.* onnxruntime==1.31.1`. Every model is built by hand
with onnx.helper, so the bytes are deterministic. The golden files (tests/fixtures/golden/) hold
inputs and the outputs Python onnxruntime computed for them, for the serving tests to match.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
OPSET = [helper.make_opsetid("", 17)]


def save(model, name):
    model.producer_name = "caravan-fixtures"
    model.producer_version = "1"
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name)
    onnx.save_model(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def affine():
    """y = 2x + 1 over float32 [N, 4]; with metadata props and a doc string."""
    two = numpy_helper.from_array(np.full((4,), 2.0, dtype=np.float32), "two")
    one = numpy_helper.from_array(np.full((4,), 1.0, dtype=np.float32), "one")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["t"]), helper.make_node("Add", ["t", "one"], ["y"])],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [two, one],
    )
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=8, doc_string="y = 2x + 1")
    helper.set_model_props(model, {"author": "caravan", "task": "regression"})
    save(model, "affine.onnx")


def affine_v2():
    """Same signature as affine, different weights (y = 3x + 1): a second version."""
    three = numpy_helper.from_array(np.full((4,), 3.0, dtype=np.float32), "three")
    one = numpy_helper.from_array(np.full((4,), 1.0, dtype=np.float32), "one")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "three"], ["t"]), helper.make_node("Add", ["t", "one"], ["y"])],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [three, one],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "affine_v2.onnx")


def two_in_two_out():
    """Several inputs and outputs of different types: sum (int64 [N]) and a cast mask (bool)."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["sum"]),
            helper.make_node("Cast", ["sum"], ["positive_raw"], to=TensorProto.BOOL),
            helper.make_node("Identity", ["positive_raw"], ["nonzero"]),
        ],
        "two_in_two_out",
        [
            helper.make_tensor_value_info("a", TensorProto.INT64, ["n"]),
            helper.make_tensor_value_info("b", TensorProto.INT64, ["n"]),
        ],
        [
            helper.make_tensor_value_info("sum", TensorProto.INT64, ["n"]),
            helper.make_tensor_value_info("nonzero", TensorProto.BOOL, ["n"]),
        ],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "two_in_two_out.onnx")


def zipmap():
    """A classifier output as skl2onnx writes it by default: a sequence of maps (ZipMap)."""
    graph = helper.make_graph(
        [helper.make_node("ZipMap", ["x"], ["output_probability"], domain="ai.onnx.ml", classlabels_int64s=[0, 1])],
        "zipmap",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2])],
        [helper.make_value_info("output_probability", helper.make_sequence_type_proto(
            helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, [])))
        )],
    )
    opsets = OPSET + [helper.make_opsetid("ai.onnx.ml", 1)]
    save(helper.make_model(graph, opset_imports=opsets, ir_version=8), "zipmap.onnx")


def external_data():
    """Weights stored in a separate file, which an upload of one .onnx file cannot carry."""
    w = numpy_helper.from_array(np.ones((4,), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=8)
    onnx.external_data_helper.set_external_data(model.graph.initializer[0], location="weights.bin")
    model.graph.initializer[0].ClearField("raw_data")
    model.graph.initializer[0].data_location = TensorProto.EXTERNAL
    model.producer_name = "caravan-fixtures"
    path = os.path.join(OUT, "external_data.onnx")
    onnx.save_model(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def unknown_op():
    """A well-formed protobuf that ONNX Runtime refuses: an operator no runtime implements."""
    graph = helper.make_graph(
        [helper.make_node("NoSuchOperator", ["x"], ["y"])],
        "unknown_op",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])],
    )
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=8)
    model.producer_name = "caravan-fixtures"
    path = os.path.join(OUT, "unknown_op.onnx")
    onnx.save_model(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def slow():
    """Tiny file, slow to run: each row is expanded to 8M floats and summed (for back-pressure)."""
    shape = numpy_helper.from_array(np.array([1, 8_000_000], dtype=np.int64), "shape")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    graph = helper.make_graph(
        [helper.make_node("Expand", ["x", "shape"], ["wide"]),
         helper.make_node("ReduceSum", ["wide", "axes"], ["y"], keepdims=1)],
        "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 1])],
        [shape, axes],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "slow.onnx")


def types():
    """One input of most V2 datatypes; FP64 doubled, INT32 incremented, the rest passed through."""
    kinds = [("f64", TensorProto.DOUBLE), ("i32", TensorProto.INT32), ("i8", TensorProto.INT8),
             ("u8", TensorProto.UINT8), ("i16", TensorProto.INT16), ("u16", TensorProto.UINT16),
             ("u32", TensorProto.UINT32), ("u64", TensorProto.UINT64), ("f16", TensorProto.FLOAT16)]
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float64), "two")
    one = numpy_helper.from_array(np.array(1, dtype=np.int32), "one")
    nodes = [helper.make_node("Mul", ["f64", "two"], ["f64_out"]), helper.make_node("Add", ["i32", "one"], ["i32_out"])]
    nodes += [helper.make_node("Identity", [k], [k + "_out"]) for k, _ in kinds[2:]]
    graph = helper.make_graph(
        nodes, "types",
        [helper.make_tensor_value_info(k, t, ["n"]) for k, t in kinds],
        [helper.make_tensor_value_info(k + "_out", t, ["n"]) for k, t in kinds],
        [two, one],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "types.onnx")


def bf16_identity():
    """BF16 in, BF16 out (numpy has no bfloat16, so its golden output is its input)."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "bf16",
        [helper.make_tensor_value_info("x", TensorProto.BFLOAT16, ["n"])],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, ["n"])],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "bf16_identity.onnx")


def strings():
    """A string model: encodes words as labels (ai.onnx.ml LabelEncoder) and echoes them."""
    graph = helper.make_graph(
        [
            helper.make_node("LabelEncoder", ["text"], ["label"], domain="ai.onnx.ml",
                             keys_strings=["cat", "dog", "ünïcode"], values_int64s=[1, 2, 3], default_int64=-1),
            helper.make_node("Identity", ["text"], ["echo"]),
        ],
        "strings",
        [helper.make_tensor_value_info("text", TensorProto.STRING, ["n"])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["n"]),
         helper.make_tensor_value_info("echo", TensorProto.STRING, ["n"])],
    )
    opsets = OPSET + [helper.make_opsetid("ai.onnx.ml", 2)]
    save(helper.make_model(graph, opset_imports=opsets, ir_version=8), "strings.onnx")


V2_TYPES = {"float32": "FP32", "float64": "FP64", "float16": "FP16", "int8": "INT8", "int16": "INT16",
            "int32": "INT32", "int64": "INT64", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32",
            "uint64": "UINT64", "bool": "BOOL", "object": "BYTES"}


def tensor_json(name, array):
    datatype = V2_TYPES[array.dtype.name]
    data = [str(x) for x in array.flatten()] if datatype == "BYTES" else array.flatten().tolist()
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


def golden(model_name, inputs):
    """Runs the fixture with Python onnxruntime and writes its inputs and outputs."""
    import json
    import onnxruntime as ort
    session = ort.InferenceSession(os.path.join(OUT, model_name), providers=["CPUExecutionProvider"])
    outputs = session.run(None, inputs)
    names = [o.name for o in session.get_outputs()]
    doc = {
        "model": model_name,
        "producer": f"onnxruntime {ort.__version__}",
        "inputs": [tensor_json(k, v) for k, v in inputs.items()],
        "outputs": [tensor_json(n, np.asarray(v)) for n, v in zip(names, outputs)],
    }
    os.makedirs(os.path.join(OUT, "golden"), exist_ok=True)
    path = os.path.join(OUT, "golden", model_name.replace(".onnx", ".json"))
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{path}: {len(doc['outputs'])} outputs")


def goldens():
    rng = np.random.default_rng(7)
    golden("affine.onnx", {"x": rng.normal(size=(3, 4)).astype(np.float32)})
    golden("two_in_two_out.onnx", {"a": np.array([1, -5, 7], dtype=np.int64), "b": np.array([-1, 2, 0], dtype=np.int64)})
    n = 4
    golden("types.onnx", {
        "f64": rng.normal(size=n), "i32": np.array([-3, 0, 7, 2**30], dtype=np.int32),
        "i8": np.array([-128, -1, 0, 127], dtype=np.int8), "u8": np.array([0, 1, 128, 255], dtype=np.uint8),
        "i16": np.array([-32768, -2, 3, 32767], dtype=np.int16), "u16": np.array([0, 9, 40000, 65535], dtype=np.uint16),
        "u32": np.array([0, 1, 3_000_000_000, 2**32 - 1], dtype=np.uint32),
        "u64": np.array([0, 1, 2**40, 2**63], dtype=np.uint64),
        "f16": np.array([0.5, -1.25, 65504.0, 1e-3], dtype=np.float16),
    })
    golden("strings.onnx", {"text": np.array(["dog", "Caravan", "ünïcode", "", "cat"], dtype=object)})


def bombs():
    """Tiny models that ask for unbounded memory or time (what serving must survive):
    - bomb_expand: y = sum(Expand(x, shape)), the size of the expanded tensor from the request;
    - bomb_constant: y = x + sum(ConstantOfShape([25000, 20000])), 2 GB made from a constant
      (small enough for a machine to allocate, so only serving's own bound stops it);
    - bomb_output: y = ConstantOfShape([50000, 50000]) + x, an output that is always 10 GB;
    - bomb_loop: y = x + 1, n times, n from the request (2^50 keeps a core busy for years)."""
    one = numpy_helper.from_array(np.array([1.0], dtype=np.float32))
    graph = helper.make_graph(
        [helper.make_node("Expand", ["x", "shape"], ["big"]),
         helper.make_node("ReduceSum", ["big"], ["y"], keepdims=0)],
        "bomb_expand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "bomb_expand.onnx")
    large = numpy_helper.from_array(np.array([25_000, 20_000], dtype=np.int64), "large")
    graph = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["large"], ["big"], value=one),
         helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
         helper.make_node("Add", ["x", "total"], ["y"])],
        "bomb_constant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        [large],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "bomb_constant.onnx")
    huge = numpy_helper.from_array(np.array([50_000, 50_000], dtype=np.int64), "huge")
    graph = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["huge"], ["big"], value=one),
         helper.make_node("Add", ["big", "x"], ["y"])],
        "bomb_output",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [50_000, 50_000])],
        [huge],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "bomb_output.onnx")
    step = numpy_helper.from_array(np.array([1.0], dtype=np.float32), "step")
    body = helper.make_graph(
        [helper.make_node("Add", ["v", "step"], ["v_next"]),
         helper.make_node("Identity", ["cond"], ["cond_next"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("cond_next", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_next", TensorProto.FLOAT, [1])],
        [step],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "x"], ["y"], body=body)],
        "bomb_loop",
        [helper.make_tensor_value_info("n", TensorProto.INT64, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    save(helper.make_model(graph, opset_imports=OPSET, ir_version=8), "bomb_loop.onnx")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    affine()
    affine_v2()
    two_in_two_out()
    zipmap()
    external_data()
    unknown_op()
    slow()
    types()
    bf16_identity()
    strings()
    bombs()
    goldens()

