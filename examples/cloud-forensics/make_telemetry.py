#!/usr/bin/env python3
"""Writes cloud-forensics telemetry as CSV for Caravan datasets: the 20 raw features (no
log1p: the models the example trainer makes take raw telemetry) and an integer label
(1 = Attack, 0 = Normal). Seeded, so a seed is a reproducible "week" of telemetry.

usage: make_telemetry.py OUT.csv [--rows 20000] [--seed 7]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cloud_forensics_model import FEATURES, make_dataset  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    X, y, _ = make_dataset(args.rows, args.seed)
    with open(args.out, "w") as fh:
        fh.write(",".join(FEATURES + ["label"]) + "\n")
        for row, label in zip(X, y):
            fh.write(",".join(f"{v:.4f}" for v in row) + f",{int(label)}\n")
    print(f"wrote {len(X)} rows ({np.mean(y):.1%} attacks) to {args.out}")


if __name__ == "__main__":
    main()
