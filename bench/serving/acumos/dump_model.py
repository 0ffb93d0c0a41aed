"""Packs the cloud-forensics ONNX model as an Acumos model: a Python function that runs it
with onnxruntime, dumped with AcumosSession().dump (model.zip, metadata.json, model.proto).

usage: python dump_model.py MODEL.onnx OUT_DIR
"""
import sys
from typing import List

from acumos.modeling import Model
from acumos.session import AcumosSession

MODEL_PATH = sys.argv[1]
_SESSION = {}


def classify(x: List[float]) -> List[float]:
    """Attack and normal probabilities of one telemetry window (20 log1p features)."""
    import numpy as np
    import onnxruntime as ort

    session = _SESSION.get("s")
    if session is None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = _SESSION["s"] = ort.InferenceSession(MODEL_PATH, options, providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {"X": np.asarray(x, dtype=np.float32).reshape(1, -1)})[1]
    return probabilities[0].tolist()


if __name__ == "__main__":
    AcumosSession().dump(Model(classify=classify), "cloud-forensics", sys.argv[2])
