"""Request bodies for the serving benchmark, from the golden inputs (already log1p'd):
json-1.json (one row, V2 JSON, as in the reference anchors) and binary-256.bin (256 rows with the
binary tensor data extension; its JSON header length goes to binary-256.len)."""
import json
import struct
import sys

models, out = sys.argv[1], sys.argv[2]
raw = open(f"{models}/golden_inputs.f32", "rb").read()
rows = [list(struct.unpack_from("<20f", raw, 80 * i)) for i in range(256)]
with open(f"{out}/json-1.json", "w") as f:
    json.dump({"inputs": [{"name": "X", "shape": [1, 20], "datatype": "FP32", "data": rows[0]}]}, f)
header = json.dumps({
    "inputs": [{"name": "X", "shape": [256, 20], "datatype": "FP32", "parameters": {"binary_data_size": len(raw)}}],
    "parameters": {"binary_data_output": True},
}).encode()
with open(f"{out}/binary-256.bin", "wb") as f:
    f.write(header + raw)
with open(f"{out}/binary-256.len", "w") as f:
    f.write(str(len(header)))
one = struct.pack("<20f", *rows[0])
header1 = json.dumps({
    "inputs": [{"name": "X", "shape": [1, 20], "datatype": "FP32", "parameters": {"binary_data_size": 80}}],
    "parameters": {"binary_data_output": True},
}).encode()
with open(f"{out}/binary-1.bin", "wb") as f:
    f.write(header1 + one)
with open(f"{out}/binary-1.len", "w") as f:
    f.write(str(len(header1)))
