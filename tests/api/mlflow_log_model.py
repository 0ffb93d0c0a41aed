"""Logs and registers an ONNX model into Caravan the way a training script does.

Usage: mlflow_log_model.py BASE_URL MODEL (credentials from MLFLOW_TRACKING_*; the experiment
from CARAVAN_TEST_EXPERIMENT, the Default one when empty).
Builds a small ONNX model (y = x @ W + b, 4 inputs, CARAVAN_TEST_WIDTH outputs, 3 by default)
with onnx.helper, then in one run logs params and metrics and calls
mlflow.onnx.log_model(..., registered_model_name=MODEL). A W of more than 1 KiB goes to an
external data file beside model.onnx (MLflow's default save_as_external_data=True).
Prints one JSON object of what the client saw; the Rust test asserts on it.
"""
import json
import os
import sys
import time

import mlflow
import mlflow.onnx
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

base, name = sys.argv[1], sys.argv[2]
experiment = os.environ.get("CARAVAN_TEST_EXPERIMENT")
width = int(os.environ.get("CARAVAN_TEST_WIDTH") or 3)
weights = np.arange(4 * width, dtype=np.float32).reshape(4, width) / 10
bias = (np.arange(width, dtype=np.float32) - 1) / 2
graph = helper.make_graph(
    [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["y"]),
    ],
    "affine",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])],
    [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)

mlflow.set_tracking_uri(base)
if experiment:
    mlflow.set_experiment(experiment)
major = int(mlflow.__version__.split(".")[0])
with mlflow.start_run() as run:
    mlflow.log_params({"learning_rate": "0.01", "epochs": "5"})
    # More than one batch of params (MLflow 3 copies them all onto the logged model).
    mlflow.log_params({f"feature_{i}": str(i) for i in range(150)})
    for step, loss in enumerate([0.9, 0.5, 0.25]):
        mlflow.log_metric("loss", loss, step=step)
    mlflow.log_metric("accuracy", 0.93)
    kwargs = {"name": "model"} if major >= 3 else {"artifact_path": "model"}
    # Time to READY: log_model returns once the registered version is READY.
    started = time.monotonic()
    signature = mlflow.models.infer_signature(
        np.zeros((1, 4), dtype=np.float32), np.zeros((1, width), dtype=np.float32)
    )
    info = mlflow.onnx.log_model(model, registered_model_name=name, signature=signature, **kwargs)
    elapsed = time.monotonic() - started
# The run's model registered again under another name, as a runs:/ URI.
again = mlflow.register_model(f"runs:/{run.info.run_id}/model", name + "-again")
client = mlflow.MlflowClient()
version = client.get_model_version(name, info.registered_model_version)
fetched = client.get_run(run.info.run_id)
params = {k: v for k, v in fetched.data.params.items() if not k.startswith("feature_")}
# The registered version loads back through get-download-uri and the proxy.
loaded = mlflow.onnx.load_model(f"models:/{name}/{info.registered_model_version}")
loaded_w = next(numpy_helper.to_array(t) for t in loaded.graph.initializer if t.name == "W")
# What went up through the artifact proxy, listed back through it.
files = sorted(f.path.split("/")[-1] for f in mlflow.artifacts.list_artifacts(artifact_uri=info.model_uri))
print(json.dumps({
    "files": files,
    "loaded_weights_match": bool(np.array_equal(loaded_w, weights)),
    "run_id": run.info.run_id,
    "experiment_id": run.info.experiment_id,
    "model_uri": info.model_uri,
    "version": version.version,
    "status": version.status,
    "source": version.source,
    "version_run_id": version.run_id,
    "params": params,
    "signature": info.signature.to_dict() if info.signature else None,
    "history": len(json.loads(fetched.data.tags.get("mlflow.log-model.history", "[]"))),
    "param_count": len(fetched.data.params),
    "loss_history": [m.value for m in client.get_metric_history(run.info.run_id, "loss")],
    "again": [again.version, again.status, again.run_id],
    "metrics": fetched.data.metrics,
    "run_status": fetched.info.status,
    "seconds": elapsed,
    # The weights, for the test to compute outputs (small models only).
    "weights": weights.tolist() if width <= 1000 else None,
    "bias": bias.tolist() if width <= 1000 else None,
}))
