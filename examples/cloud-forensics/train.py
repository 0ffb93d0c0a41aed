#!/usr/bin/env python3
"""The example's trainer, as a Caravan pipeline runs it:

    train.py DATASET.csv OUTPUT.onnx PARAMS_JSON

Fits StandardScaler + MLPClassifier (scikit-learn) on log1p(raw telemetry) and exports ONNX
with the log1p inside the graph (Add 1, then Log, in front of the converted pipeline), so every
version takes raw telemetry: X float32 [N, 20] -> label int64 [N], probabilities float32 [N, 2].

params (all optional): hidden (layer sizes, default [64, 32]), max_iter (default 200),
seed (default 7), rows (train on at most this many rows).
"""
import csv
import json
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, compose, helper
from skl2onnx import to_onnx
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = 20


def load(path, limit):
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        label = header.index("label")
        columns = [i for i, name in enumerate(header) if name != "label"][:FEATURES]
        rows, labels = [], []
        for record in reader:
            rows.append([float(record[i]) for i in columns])
            labels.append(int(record[label]))
            if limit and len(rows) >= limit:
                break
    return np.asarray(rows, dtype=np.float32), np.asarray(labels, dtype=np.int64)


def with_log1p(model):
    """Prepends raw -> log1p(raw) to a model whose input is X."""
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    pre = helper.make_graph(
        [helper.make_node("Add", ["X", "one"], ["shifted"]), helper.make_node("Log", ["shifted"], ["Z"])],
        "log1p",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, FEATURES])],
        [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [None, FEATURES])],
        [one],
    )
    pre = helper.make_model(pre, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    model.graph.input[0].name = "Z"
    for node in model.graph.node:
        node.input[:] = ["Z" if i == "X" else i for i in node.input]
    merged = compose.merge_models(pre, model, io_map=[("Z", "Z")])
    # Both halves import the same opsets; keep each domain once.
    versions = {}
    for opset in merged.opset_import:
        versions[opset.domain] = max(versions.get(opset.domain, 0), opset.version)
    del merged.opset_import[:]
    merged.opset_import.extend(helper.make_opsetid(d, v) for d, v in versions.items())
    return merged


def main():
    dataset, output, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3] or "{}")
    X, y = load(dataset, params.get("rows"))
    hidden = tuple(params.get("hidden", [64, 32]))
    clf = MLPClassifier(hidden_layer_sizes=hidden, max_iter=params.get("max_iter", 200),
                        early_stopping=True, n_iter_no_change=5, random_state=params.get("seed", 7))
    pipe = Pipeline([("scaler", StandardScaler()), ("mlp", clf)])
    started = time.time()
    pipe.fit(np.log1p(X), y)
    print(f"trained on {len(X)} rows in {time.time() - started:.1f} s "
          f"(train accuracy {pipe.score(np.log1p(X), y):.4f})", flush=True)
    converted = to_onnx(pipe, np.log1p(X[:1]), options={id(clf): {"zipmap": False}}, target_opset=17)
    model = with_log1p(converted)
    model.graph.name = "cloud_forensics"
    onnx.checker.check_model(model)
    with open(output, "wb") as fh:
        fh.write(model.SerializeToString())


if __name__ == "__main__":
    main()
