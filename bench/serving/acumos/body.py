"""The runner's JSON request for golden row 0: {"x": [20 floats]}."""
import json
import struct
import sys

raw = open(f"{sys.argv[1]}/golden_inputs.f32", "rb").read(80)
json.dump({"x": list(struct.unpack("<20f", raw))}, open(sys.argv[2], "w"))
