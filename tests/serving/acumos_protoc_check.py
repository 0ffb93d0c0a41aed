"""Compiles a model's generated .proto with protoc (grpcio-tools), then calls its `predict`
method with the generated classes over protobuf and over JSON (json_format), comparing the
probabilities with Python onnxruntime's golden ones bit for bit.

usage: acumos_protoc_check.py BASE_URL TOKEN FIXTURE_DIR WORK_DIR
"""
import importlib
import json
import struct
import sys
import urllib.request

from grpc_tools import protoc

base, token, fixtures, work = sys.argv[1:5]


def call(path, body=None, content_type=None, accept=None):
    request = urllib.request.Request(base + path, data=body, method="POST" if body is not None else "GET")
    request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    if accept:
        request.add_header("Accept", accept)
    with urllib.request.urlopen(request) as response:
        return response.read()


with open(f"{work}/model.proto", "wb") as f:
    f.write(call("/model/artifacts/protobuf"))
if protoc.main(["protoc", f"-I{work}", f"--python_out={work}", f"{work}/model.proto"]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, work)
model_pb2 = importlib.import_module("model_pb2")
from google.protobuf import json_format  # noqa: E402


def floats(name):
    data = open(f"{fixtures}/{name}", "rb").read()
    return list(struct.unpack(f"<{len(data) // 4}f", data))


inputs = floats("golden_inputs.f32")
golden = floats("golden_probs_small.f32")
raw_labels = open(f"{fixtures}/golden_labels_small.i64", "rb").read()
labels = list(struct.unpack(f"<{len(raw_labels) // 8}q", raw_labels))

request = model_pb2.PredictIn(X=inputs)
pb = "application/vnd.google.protobuf"
answer = model_pb2.PredictOut.FromString(call("/model/methods/predict", request.SerializeToString(), pb, pb))
got = list(answer.probabilities)
# Python holds floats as doubles: compare the float32 bits.
assert struct.pack(f"<{len(got)}f", *got) == struct.pack(f"<{len(golden)}f", *golden), "protobuf probabilities differ"
assert list(answer.label) == labels, "protobuf labels differ"

body = json_format.MessageToJson(request).encode()
answer = json_format.Parse(call("/model/methods/predict", body, "application/json", "application/json"), model_pb2.PredictOut())
got = list(answer.probabilities)
assert struct.pack(f"<{len(got)}f", *got) == struct.pack(f"<{len(golden)}f", *golden), "JSON probabilities differ"
assert list(answer.label) == labels, "JSON labels differ"
print("ok")
