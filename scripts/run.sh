#!/usr/bin/env bash
# Runs Caravan on the embedded default (SQLite + local files in ./caravan-data), from a fresh
# clone: fetches ONNX Runtime once, builds, and serves on http://127.0.0.1:8080.
# Extra arguments go to `caravan serve` (for example --config caravan.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-onnxruntime.sh >&2
exec cargo run --release --locked -p caravan -- serve "$@"
