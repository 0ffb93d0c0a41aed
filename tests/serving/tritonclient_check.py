#!/usr/bin/env python3
"""Drives Caravan with the real tritonclient (HTTP): health, metadata, config, and inference
with binary and JSON tensors, comparing the outputs with the golden files.

usage: tritonclient_check.py URL TOKEN GOLDEN.json MODEL [GOLDEN.json MODEL ...]
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient

DTYPES = {"FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "INT8": np.int8, "INT16": np.int16,
          "INT32": np.int32, "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
          "UINT64": np.uint64, "BOOL": np.bool_, "BYTES": np.object_}


def array(tensor):
    if tensor["datatype"] == "BYTES":
        data = [s.encode() for s in tensor["data"]]
    else:
        data = tensor["data"]
    return np.array(data, dtype=DTYPES[tensor["datatype"]]).reshape(tensor["shape"])


def check(client, headers, golden_path, model):
    golden = json.load(open(golden_path))
    assert client.is_model_ready(model, headers=headers), f"{model} not ready"
    metadata = client.get_model_metadata(model, headers=headers)
    assert [i["name"] for i in metadata["inputs"]] == [t["name"] for t in golden["inputs"]], metadata
    config = client.get_model_config(model, headers=headers)
    assert config["name"] == model, config
    has_half = any(t["datatype"] == "FP16" for t in golden["inputs"])
    for binary in ([True] if has_half else [True, False]):
        inputs = []
        for t in golden["inputs"]:
            infer_input = httpclient.InferInput(t["name"], t["shape"], t["datatype"])
            infer_input.set_data_from_numpy(array(t), binary_data=binary)
            inputs.append(infer_input)
        outputs = None if binary else [httpclient.InferRequestedOutput(t["name"], binary_data=False) for t in golden["outputs"]]
        # A fresh dict per call: tritonclient adds Inference-Header-Content-Length to the dict
        # it is given and would send it again with the next, JSON-only, request.
        result = client.infer(model, inputs, outputs=outputs, headers=dict(headers), request_id="tc-1")
        response = result.get_response()
        assert response["model_name"] == model and response["id"] == "tc-1", response
        for want in golden["outputs"]:
            got = result.as_numpy(want["name"])
            expected = array(want)
            assert got.shape == expected.shape, (want["name"], got.shape, expected.shape)
            if want["datatype"] == "BYTES":
                as_bytes = lambda xs: [x.encode() if isinstance(x, str) else bytes(x) for x in xs.flatten()]
                assert as_bytes(got) == as_bytes(expected), want["name"]
            else:
                assert np.array_equal(got.astype(expected.dtype), expected), (want["name"], got, expected)
        print(f"{model}: {'binary' if binary else 'JSON'} outputs match the golden file")


def main():
    url, token, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
    headers = {"Authorization": f"Bearer {token}"}
    client = httpclient.InferenceServerClient(url=url)
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    for golden_path, model in zip(pairs[::2], pairs[1::2]):
        check(client, headers, golden_path, model)
    try:
        client.get_model_metadata("no-such-model", headers=headers)
        raise AssertionError("an unknown model must be an error")
    except httpclient.InferenceServerException as e:
        assert "not found" in str(e), e
    print("ok")


if __name__ == "__main__":
    main()
