#!/usr/bin/env bash
# A resumable upload of a large ONNX model through `caravan push` (release build), on the
# embedded default's local store and on S3 (SeaweedFS, from scripts/services.sh): wall time and
# MB/s of the whole push (hash, parts, completion with validation), the client's peak RSS
# (/usr/bin/time) and the server's peak RSS growth (VmHWM, reset through clear_refs), then a
# `caravan pull` of the same version with its SHA-256 check. The server's log lines give the
# completion's share (assembly, validation, store).
#
# usage: bench/resumable-push.sh [SIZE_MIB=1024] [RUNS=2]   (CARAVAN_BIN_DIR skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
RUNS=${2:-2}
OUT=bench/out/resumable-push
rm -rf "$OUT" && mkdir -p "$OUT"

bash scripts/fetch-onnxruntime.sh >/dev/null
eval "$(bash scripts/services.sh)"
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
MODEL=$OUT/large.onnx
python3 bench/make-large-model.py "$SIZE_MIB" "$MODEL"
BYTES=$(stat -c %s "$MODEL")
SHA=$(sha256sum "$MODEL" | cut -d' ' -f1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mib() { echo $(( $1 / 1024 )); }

echo "model: $BYTES bytes ($SIZE_MIB MiB), sha256 $SHA"
printf '| store | run | push s | push MB/s | client peak RSS MiB | server peak RSS growth MiB | pull s | pull MB/s | client peak RSS, pull MiB |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for store in local s3; do
  PORT=$(free_port)
  DATA=$OUT/data-$store
  if [ "$store" = s3 ]; then
    export CARAVAN__STORAGE__URL=s3://$CARAVAN_TEST_S3_BUCKET/resumable-$$
    export CARAVAN__STORAGE__S3__ENDPOINT=$CARAVAN_TEST_S3_ENDPOINT CARAVAN__STORAGE__S3__ALLOW_HTTP=true
    export CARAVAN__STORAGE__S3__ACCESS_KEY_ID=$CARAVAN_TEST_S3_KEY
    export CARAVAN__STORAGE__S3__SECRET_ACCESS_KEY=$CARAVAN_TEST_S3_SECRET
  fi
  CARAVAN_ADMIN_PASSWORD=bench-password CARAVAN__DATA_DIR="$DATA" \
    CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__LOG__LEVEL=info \
    "$BIN" serve 2>"$OUT/server-$store.log" &
  SERVER=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.1; done
  export CARAVAN_URL=http://127.0.0.1:$PORT CARAVAN_CONFIG_DIR=$OUT/client-$store CARAVAN_CACHE_DIR=$OUT/client-$store/cache
  CARAVAN_PASSWORD=bench-password "$BIN" login "$CARAVAN_URL" --username admin 2>/dev/null
  for run in $(seq 1 "$RUNS"); do
    base=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER/status"); echo 5 > "/proc/$SERVER/clear_refs"
    /usr/bin/time -f "%e %M" -o "$OUT/push-time" "$BIN" push "$MODEL" --model "large-$store-$run" --json \
      >"$OUT/push-$store-$run.json" 2>"$OUT/push-$store-$run.log"
    peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER/status")
    read -r push_s push_kib <"$OUT/push-time"
    /usr/bin/time -f "%e %M" -o "$OUT/pull-time" "$BIN" pull "large-$store-$run:1" -o "$OUT/pulled.onnx" \
      2>"$OUT/pull-$store-$run.log"
    read -r pull_s pull_kib <"$OUT/pull-time"
    [ "$(sha256sum "$OUT/pulled.onnx" | cut -d' ' -f1)" = "$SHA" ] || { echo "pulled bytes differ" >&2; exit 1; }
    rm -f "$OUT/pulled.onnx"
    rate() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
    printf '| %s | %s | %.2f | %s | %s | %s | %.2f | %s | %s |\n' "$store" "$run" "$push_s" "$(rate "$push_s")" \
      "$(mib "$push_kib")" "$(mib $((peak - base)))" "$pull_s" "$(rate "$pull_s")" "$(mib "$pull_kib")"
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  grep -h "upload staged\|version onboarded" "$OUT/server-$store.log" | sed 's/\x1b\[[0-9;]*m//g' \
    | grep -o 'bytes=[0-9]*\|stage_ms=[0-9]*\|validate_ms=[0-9]*\|store_ms=[0-9]*' | paste -sd' ' \
    | fold -w 400 > "$OUT/phases-$store.txt" || true
  unset CARAVAN__STORAGE__URL
done
echo
echo "server phases (staging of each part and of the assembled file; validation; store):"
cat "$OUT"/phases-*.txt | tr ' ' '\n' | grep -E 'validate_ms|store_ms' | paste -sd' ' || true
