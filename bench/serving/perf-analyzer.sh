#!/usr/bin/env bash
# The Open Inference Protocol's three transports side by side, measured by perf_analyzer
# (tritonclient 2.51.0, scripts/install-perf-analyzer.sh) against one release build of
# Caravan: gRPC, REST with the binary tensor extension and REST JSON, on the cloud-forensics
# small and large models, at concurrency 1, 8 and 64, one after the other in one run. Prints
# req/s and p50/p99 latency from perf_analyzer's CSV. Results: bench/out/perf-analyzer/.
#
# usage: bench/serving/perf-analyzer.sh   (CARAVAN_BIN_DIR skips the build; WINDOW_MS=3000,
#        STABILITY=25)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out/perf-analyzer
MODELS=bench/out/models
WINDOW_MS=${WINDOW_MS:-3000}
# How far (in %) three windows in a row may differ for perf_analyzer to call them stable.
STABILITY=${STABILITY:-25}
rm -rf "$OUT" && mkdir -p "$OUT" "$MODELS"

bash scripts/fetch-onnxruntime.sh >/dev/null
PA=$(bash scripts/install-perf-analyzer.sh)
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
if [ ! -f "$MODELS/cloud_forensics_mlp_large.onnx" ]; then
  venv=bench/.venv-models
  if ! cmp -s bench/serving/requirements-models.txt "$venv/requirements.txt" 2>/dev/null; then
    rm -rf "$venv" && python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/serving/requirements-models.txt
    cp bench/serving/requirements-models.txt "$venv/requirements.txt"
  fi
  "$venv/bin/python" examples/cloud-forensics/cloud_forensics_model.py --out "$MODELS" >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
GRPC=$(free_port)
CARAVAN_ADMIN_PASSWORD=bench-password CARAVAN__DATA_DIR="$OUT/data" \
  CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__GRPC__BIND="127.0.0.1:$GRPC" CARAVAN__LOG__LEVEL=warn \
  "$BIN" serve 2>"$OUT/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.1; done
export CARAVAN_URL=http://127.0.0.1:$PORT CARAVAN_CONFIG_DIR=$OUT/client CARAVAN_CACHE_DIR=$OUT/client/cache
CARAVAN_PASSWORD=bench-password "$BIN" login "$CARAVAN_URL" --username admin 2>/dev/null
TOKEN=$(python3 -c 'import json,sys; print(next(iter(json.load(open(sys.argv[1]))["servers"].values()))["token"])' "$OUT/client/credentials.json")
"$BIN" push "$MODELS/cloud_forensics_mlp.onnx" --model cf-small >/dev/null 2>&1
"$BIN" push "$MODELS/cloud_forensics_mlp_large.onnx" --model cf-large >/dev/null 2>&1

echo "server: $BIN; perf_analyzer 2.51.0, ${WINDOW_MS} ms windows, stable within ${STABILITY} %"
printf '| model | transport | concurrency | req/s | p50 µs | p99 µs |\n|---|---|---|---|---|---|\n'
for model in small large; do
  for c in 1 8 64; do
    for transport in grpc rest-binary rest-json; do
      case $transport in
        grpc) args=(-i grpc -u "127.0.0.1:$GRPC") ;;
        rest-binary) args=(-i http -u "127.0.0.1:$PORT") ;;
        rest-json) args=(-i http -u "127.0.0.1:$PORT" --input-tensor-format json --output-tensor-format json) ;;
      esac
      csv=$OUT/$model-$transport-$c.csv
      "$PA" -m "cf-$model" "${args[@]}" -H "authorization: Bearer $TOKEN" \
        --concurrency-range "$c:$c:1" -p "$WINDOW_MS" --max-trials 10 --stability-percentage "$STABILITY" \
        -f "$csv" >"$OUT/$model-$transport-$c.log" 2>&1 \
        || { echo "perf_analyzer failed: $OUT/$model-$transport-$c.log" >&2; tail -5 "$OUT/$model-$transport-$c.log" >&2; exit 1; }
      python3 - "$csv" "$model" "$transport" "$c" <<'PY'
import csv, sys
path, model, transport, c = sys.argv[1:]
row = next(csv.DictReader(open(path)))
print(f"| {model} | {transport} | {c} | {float(row['Inferences/Second']):,.0f} | "
      f"{int(row['p50 latency']):,} | {int(row['p99 latency']):,} |")
PY
    done
  done
done
