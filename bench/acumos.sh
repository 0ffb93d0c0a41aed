#!/usr/bin/env bash
# The Acumos model-runner surface beside V2 on the same model and server, in one run: req/s,
# p50 and p99 at concurrency 64 (wrk, 2 threads) for V2 JSON, `POST /acumos/models/small/model/
# methods/predict` with JSON and with protobuf (one row of the cloud-forensics MLP), PASSES
# interleaved passes of DURATION each; the median pass per surface goes to the summary.
# Results: bench/out/acumos/summary.txt.
#
# usage: bench/acumos.sh   (DURATION=10s PASSES=3 CONCURRENCY=64; CARAVAN_BIN_DIR=target/release skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
PASSES=${PASSES:-3}
C=${CONCURRENCY:-64}
OUT=bench/out/acumos
rm -rf "$OUT" && mkdir -p "$OUT"
log() { printf '[acumos] %s\n' "$*" >&2; }

bash scripts/fetch-onnxruntime.sh >/dev/null
command -v wrk >/dev/null || { log "wrk is needed: apt-get install -y wrk"; exit 1; }
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
export CARAVAN__INFERENCE__ORT_LIBRARY=$PWD/.ort/lib/libonnxruntime.so CARAVAN__LOG__LEVEL=warn
FIXTURES=tests/fixtures/cloud-forensics
python3 bench/serving/make_bodies.py "$FIXTURES" "$OUT"
# The same row as a PredictIn message: JSON, and protobuf (field 1, packed floats).
python3 - "$OUT" <<'PY'
import json, struct, sys
out = sys.argv[1]
row = json.load(open(f"{out}/json-1.json"))["inputs"][0]["data"]
json.dump({"X": row}, open(f"{out}/predict-1.json", "w"))
packed = struct.pack(f"<{len(row)}f", *row)
open(f"{out}/predict-1.pb", "wb").write(b"\x0a" + bytes([len(packed)]) + packed)
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
S=http://127.0.0.1:$PORT
CARAVAN__DATA_DIR="$OUT/server" CARAVAN__HTTP__BIND=127.0.0.1:$PORT CARAVAN_ADMIN_PASSWORD=bench-password \
  "$BIN" serve 2>"$OUT/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 3000); do curl -sf -o /dev/null "$S/readyz" && break; sleep 0.01; done
TOKEN=$(curl -sf "$S/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | jq -r .token)
curl -sf -o /dev/null "$S/api/v1/models/small/versions" -H "Authorization: Bearer $TOKEN" \
  -F model=@"$FIXTURES/cloud_forensics_mlp.onnx"

PB=application/vnd.google.protobuf
PREDICT=$S/acumos/models/small/model/methods/predict
# name | url | body | content type | accept
SURFACES=(
  "v2-json|$S/v2/models/small/infer|$OUT/json-1.json|application/json|application/json"
  "methods-json|$PREDICT|$OUT/predict-1.json|application/json|application/json"
  "methods-protobuf|$PREDICT|$OUT/predict-1.pb|$PB|$PB"
)
# Each answer checked once before it is timed.
for s in "${SURFACES[@]}"; do
  IFS='|' read -r name url body ct accept <<< "$s"
  code=$(curl -s -o "$OUT/check-$name" -w '%{http_code}' "$url" -H "Authorization: Bearer $TOKEN" \
    -H "content-type: $ct" -H "accept: $accept" --data-binary @"$body")
  [ "$code" = 200 ] || { log "$name answered $code: $(cat "$OUT/check-$name")"; exit 1; }
done

printf 'surface\tpass\treq/s\tp50\tp99\tnon-2xx\n' > "$OUT/results.tsv"
for pass in $(seq 1 "$PASSES"); do
  for s in "${SURFACES[@]}"; do
    IFS='|' read -r name url body ct accept <<< "$s"
    env BODY="$body" CONTENT_TYPE="$ct" ACCEPT="$accept" TOKEN="$TOKEN" \
      wrk -t2 -c"$C" -d"$DURATION" --latency -s bench/serving/post.lua "$url" > "$OUT/wrk-$name-$pass.txt"
    awk -v n="$name" -v p="$pass" '
      /Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} /Non-2xx/ {bad = $NF}
      END {printf "%s\t%s\t%s\t%s\t%s\t%d\n", n, p, rps, p50, p99, bad}' "$OUT/wrk-$name-$pass.txt" >> "$OUT/results.tsv"
  done
done

{
  echo "c=$C, $PASSES interleaved passes of $DURATION, one row of the 15 KB cloud-forensics MLP:"
  echo "median pass per surface (req/s), with the range over passes"
  for s in "${SURFACES[@]}"; do
    name=${s%%|*}
    awk -F'\t' -v n="$name" '$1 == n {print $3, $4, $5, $6}' "$OUT/results.tsv" | sort -n | awk -v n="$name" '
      {r[NR] = $1; l[NR] = $2; h[NR] = $3; bad += $4}
      END {m = int((NR + 1) / 2); printf "%-18s %10.0f req/s (%.0f-%.0f)  p50 %s  p99 %s  non-2xx %d\n", n, r[m], r[1], r[NR], l[m], h[m], bad}'
  done
  echo "server RSS after the runs: $(ps -o rss= -p $SERVER | awk '{printf "%d MiB", $1 / 1024}')"
} | tee "$OUT/summary.txt"
