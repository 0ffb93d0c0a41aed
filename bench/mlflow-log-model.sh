#!/usr/bin/env bash
# `mlflow.onnx.log_model(..., registered_model_name=...)` into Caravan with the real MLflow
# clients (the venvs scripts/test.sh installs): seconds from the call to a READY version, for
# the small model of the tests (4x3 weights) and a 100 MiB one (4 x 6,553,600 float weights,
# which MLflow writes to an external data file that Caravan inlines), on the embedded
# default's local store. Each run starts its own experiment run; the model is registered anew.
#
# usage: bench/mlflow-log-model.sh [RUNS=2]   (CARAVAN_BIN_DIR skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-2}
OUT=bench/out/mlflow-log-model
rm -rf "$OUT" && mkdir -p "$OUT"

bash scripts/fetch-onnxruntime.sh >/dev/null
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CARAVAN_ADMIN_PASSWORD=bench-password CARAVAN__DATA_DIR="$OUT/data" \
  CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__LOG__LEVEL=info \
  "$BIN" serve 2>"$OUT/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.1; done
URL=http://127.0.0.1:$PORT
CARAVAN_CONFIG_DIR=$OUT/client CARAVAN_PASSWORD=bench-password "$BIN" login "$URL" --username admin 2>/dev/null
TOKEN=$(python3 -c 'import json,sys; print(next(iter(json.load(open(sys.argv[1]))["servers"].values()))["token"])' "$OUT/client/credentials.json")

echo "server: $BIN"
printf '| client | model | W + b bytes | run | log_model to READY s |\n|---|---|---|---|---|\n'
for major in 3 2; do
  PY=.venv/mlflow-$major/bin/python
  [ -x "$PY" ] || { echo "$PY is missing: run scripts/test.sh once" >&2; exit 1; }
  for width in 3 6553600; do
    for run in $(seq 1 "$RUNS"); do
      name="bench-$major-$width-$run"
      MLFLOW_TRACKING_TOKEN=$TOKEN CARAVAN_TEST_WIDTH=$width CARAVAN_TEST_EXPERIMENT="bench-$major" \
        HOME=$OUT "$PY" tests/api/mlflow_log_model.py "$URL" "$name" >"$OUT/$name.out" 2>"$OUT/$name.err"
      seconds=$(tail -1 "$OUT/$name.out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="READY"; print("%.2f" % d["seconds"])')
      printf '| mlflow-skinny %s | %s | %s | %s | %s |\n' "$($PY -c 'import mlflow; print(mlflow.__version__)')" \
        "$([ "$width" = 3 ] && echo small || echo "100 MiB W")" $((20 * width)) "$run" "$seconds"
    done
  done
done
