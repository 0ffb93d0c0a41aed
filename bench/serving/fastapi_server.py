"""A best-case small Python V2 server, for comparison: FastAPI + uvicorn (uvloop, httptools),
orjson, onnxruntime called inline. Serves MODEL (float32 [N, 20] in; label and probabilities out).

run: MODEL=model.onnx uvicorn fastapi_server:app --port P --workers 1 --no-access-log
"""
import os

import numpy as np
import onnxruntime as ort
import orjson
from fastapi import FastAPI, Request, Response

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(os.environ["MODEL"], options, providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name
app = FastAPI()


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    body = orjson.loads(await request.body())
    tensor = body["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    label, probabilities = session.run(None, {input_name: x})
    out = {
        "model_name": name,
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": list(label.shape), "data": label.tolist()},
            {"name": "probabilities", "datatype": "FP32", "shape": list(probabilities.shape),
             "data": probabilities.flatten().tolist()},
        ],
    }
    return Response(orjson.dumps(out), media_type="application/json")
