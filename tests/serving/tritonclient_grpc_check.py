#!/usr/bin/env python3
"""Drives Caravan's gRPC listener with the real tritonclient.grpc: health, metadata, config,
statistics, inference with raw tensors compared with the golden files, and the refusals a
client must be able to tell apart. Prints one JSON object; the Rust test asserts on it.

usage: tritonclient_grpc_check.py HOST:PORT TOKEN SLOW_MODEL GOLDEN.json MODEL [GOLDEN.json MODEL ...]
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

DTYPES = {"FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "INT8": np.int8, "INT16": np.int16,
          "INT32": np.int32, "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
          "UINT64": np.uint64, "BOOL": np.bool_, "BYTES": np.object_}


def array(tensor):
    data = [s.encode() for s in tensor["data"]] if tensor["datatype"] == "BYTES" else tensor["data"]
    return np.array(data, dtype=DTYPES[tensor["datatype"]]).reshape(tensor["shape"])


def status(call):
    try:
        call()
    except InferenceServerException as e:
        return e.status()
    return "no error"


def golden_inputs(golden):
    inputs = []
    for t in golden["inputs"]:
        i = grpcclient.InferInput(t["name"], t["shape"], t["datatype"])
        i.set_data_from_numpy(array(t))
        inputs.append(i)
    return inputs


def check(client, headers, golden_path, model):
    golden = json.load(open(golden_path))
    assert client.is_model_ready(model, headers=headers), model
    metadata = client.get_model_metadata(model, headers=headers, as_json=True)
    assert [i["name"] for i in metadata["inputs"]] == [t["name"] for t in golden["inputs"]], metadata
    config = client.get_model_config(model, headers=headers, as_json=True)
    assert config["config"]["name"] == model, config
    result = client.infer(model, golden_inputs(golden), headers=headers, request_id="grpc-1")
    response = result.get_response(as_json=True)
    assert response["id"] == "grpc-1" and response["model_name"] == model, response
    assert len(result.get_response().raw_output_contents) == len(golden["outputs"]), "outputs travel raw"
    for want in golden["outputs"]:
        got, expected = result.as_numpy(want["name"]), array(want)
        assert got.shape == expected.shape, (want["name"], got.shape, expected.shape)
        if want["datatype"] == "BYTES":
            as_bytes = lambda xs: [x.encode() if isinstance(x, str) else bytes(x) for x in xs.flatten()]
            assert as_bytes(got) == as_bytes(expected), want["name"]
        else:
            assert np.array_equal(got.astype(expected.dtype), expected), (want["name"], got, expected)
    return golden


def main():
    url, token, slow, pairs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    headers = {"authorization": f"Bearer {token}"}
    client = grpcclient.InferenceServerClient(url)
    out = {"live": client.is_server_live(), "ready": client.is_server_ready()}
    out["server"] = client.get_server_metadata(as_json=True)["name"]
    checked = []
    first = None
    for golden_path, model in zip(pairs[::2], pairs[1::2]):
        golden = check(client, headers, golden_path, model)
        first = first or (model, golden)
        checked.append(model)
    out["checked"] = checked
    model, golden = first
    stats = client.get_inference_statistics(model, headers=headers, as_json=True)["model_stats"][0]["inference_stats"]
    out["stats_counts"] = sorted({int(stats[k]["count"]) for k in ("compute_input", "compute_infer", "compute_output")})

    # Refusals.
    out["unknown_model"] = status(lambda: client.infer("no-such-model", golden_inputs(golden), headers=headers))
    out["unknown_version"] = status(lambda: client.infer(model, golden_inputs(golden), model_version="9", headers=headers))
    out["no_token"] = status(lambda: client.infer(model, golden_inputs(golden)))
    out["bad_token"] = status(lambda: client.infer(model, golden_inputs(golden), headers={"authorization": "Bearer nope"}))
    t = golden["inputs"][0]
    wrong_type = grpcclient.InferInput(t["name"], t["shape"], "INT64")
    wrong_type.set_data_from_numpy(array(t).astype(np.int64))
    out["wrong_datatype"] = status(lambda: client.infer(model, [wrong_type] + golden_inputs(golden)[1:], headers=headers))
    short = grpcclient.InferInput(t["name"], t["shape"], t["datatype"])
    short.set_data_from_numpy(array(t))
    short._raw_content = short._raw_content[:-4]
    out["raw_length_mismatch"] = status(lambda: client.infer(model, [short] + golden_inputs(golden)[1:], headers=headers))
    huge = grpcclient.InferInput(t["name"], [1, 20_000_000], "FP32")
    huge.set_data_from_numpy(np.zeros((1, 20_000_000), dtype=np.float32))
    out["too_large"] = status(lambda: client.infer(model, [huge], headers=headers))
    x = grpcclient.InferInput("x", [1, 1], "FP32")
    x.set_data_from_numpy(np.ones((1, 1), dtype=np.float32))
    out["deadline"] = status(lambda: client.infer(slow, [x], headers=headers, client_timeout=0.01))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
