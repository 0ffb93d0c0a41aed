#!/usr/bin/env python3
"""Writes a valid ONNX model `y = x + w` whose float32 initializer `w` makes the file about
SIZE_MIB MiB, streaming it to disk (no third-party packages, constant memory); or, with
--many, COUNT small distinct models (16 weights each, different in every file).

usage: make-large-model.py SIZE_MIB OUT.onnx
       make-large-model.py --many COUNT DIR
"""
import os
import struct
import sys


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def field_bytes(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def field_varint(field, v):
    return key(field, 0) + varint(v)


def value_info(name, n):
    dim = field_varint(1, n)
    shape = field_bytes(1, dim)
    tensor_type = field_varint(1, 1) + field_bytes(2, shape)
    return field_bytes(1, name.encode()) + field_bytes(2, field_bytes(1, tensor_type))


def small_model(index, n=16):
    """A complete small model whose weights are index, index+1, ... (distinct bytes per index)."""
    node = field_bytes(1, b"x") + field_bytes(1, b"w") + field_bytes(2, b"y") + field_bytes(4, b"Add")
    raw = struct.pack(f"<{n}f", *(float(index + i) for i in range(n)))
    init = field_varint(1, n) + field_varint(2, 1) + field_bytes(8, b"w") + field_bytes(9, raw)
    graph = (field_bytes(1, node) + field_bytes(2, b"small") + field_bytes(5, init)
             + field_bytes(11, value_info("x", n)) + field_bytes(12, value_info("y", n)))
    return (field_varint(1, 8) + field_bytes(2, b"caravan-bench") + field_bytes(7, graph)
            + field_bytes(8, field_varint(2, 17)))


def many(count, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for i in range(count):
        with open(os.path.join(out_dir, f"m{i:05d}.onnx"), "wb") as f:
            f.write(small_model(i))


def main():
    if sys.argv[1] == "--many":
        many(int(sys.argv[2]), sys.argv[3])
        return
    size_mib, out = int(sys.argv[1]), sys.argv[2]
    n = size_mib * (1 << 20) // 4
    raw_len = n * 4
    node = field_bytes(1, b"x") + field_bytes(1, b"w") + field_bytes(2, b"y") + field_bytes(4, b"Add")
    init_head = field_varint(1, n) + field_varint(2, 1) + field_bytes(8, b"w") + key(9, 2) + varint(raw_len)
    init_len = len(init_head) + raw_len
    graph_rest = field_bytes(2, b"large") + field_bytes(11, value_info("x", n)) + field_bytes(12, value_info("y", n))
    graph_head = field_bytes(1, node) + key(5, 2) + varint(init_len)
    graph_len = len(graph_head) + init_len + len(graph_rest)
    opset = field_bytes(8, field_varint(2, 17))
    with open(out, "wb") as f:
        f.write(field_varint(1, 8) + field_bytes(2, b"caravan-bench") + opset)
        f.write(key(7, 2) + varint(graph_len) + graph_head + init_head)
        chunk = bytes(range(256)) * 4096  # 1 MiB of varied bytes
        left = raw_len
        while left:
            piece = chunk[: min(left, len(chunk))]
            f.write(piece)
            left -= len(piece)
        f.write(graph_rest)


if __name__ == "__main__":
    main()
