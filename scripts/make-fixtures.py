#!/usr/bin/env python3
"""Writes the small ONNX test fixtures in tests/fixtures/ (committed; rerun to regenerate).

Needs `pip install onnx==1.20.1 numpy==2.3.5`. Every model is built by hand with onnx.helper,
so the bytes are deterministic.
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


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    affine()
    affine_v2()
    two_in_two_out()
    zipmap()
    external_data()
    unknown_op()

