#!/usr/bin/env bash
# Hostile models under load: wrk keeps a normal model busy at concurrency 64 while an ordinary
# publisher pushes and calls each bomb in tests/fixtures (bomb_expand: 2 GB from the request;
# bomb_constant: 2 GB from a constant; bomb_loop: 2^50 iterations; bomb_output: an output that
# is always 10 GB) ROUNDS times. Records every bomb answer, wrk's failures and the server's RSS
# (sampled every 100 ms) against the configured ceilings. Results: bench/out/bombs/.
#
# usage: bench/bombs.sh   (ROUNDS=5 DURATION=40s INFERENCE_MB=512 BUDGET_MB=512 MAX_RUN_MS=2000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-40s}
INFERENCE_MB=${INFERENCE_MB:-512}
BUDGET_MB=${BUDGET_MB:-512}
MAX_RUN_MS=${MAX_RUN_MS:-2000}
OUT=bench/out/bombs
PORT=18400
URL=http://127.0.0.1:$PORT
rm -rf "$OUT" && mkdir -p "$OUT"
log() { printf '[bombs] %s\n' "$*" >&2; }

bash scripts/fetch-onnxruntime.sh >/dev/null
command -v wrk >/dev/null || { log "wrk is needed: apt-get install -y wrk"; exit 1; }
# CARAVAN_BIN_DIR: a folder holding an already built release `caravan`; otherwise this tree
# is built.
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}

env CARAVAN__INFERENCE__ORT_LIBRARY="$PWD/.ort/lib/libonnxruntime.so" CARAVAN__DATA_DIR="$OUT/data" \
    CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__LOG__LEVEL=warn CARAVAN_ADMIN_PASSWORD=bench-password \
    CARAVAN__SERVING__INFERENCE_MEMORY_MB="$INFERENCE_MB" CARAVAN__SERVING__MEMORY_BUDGET_MB="$BUDGET_MB" \
    CARAVAN__SERVING__MAX_RUN_MS="$MAX_RUN_MS" \
    "$BIN/caravan" serve 2>>"$OUT/caravan.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "$URL/v2/health/ready" >/dev/null && break; sleep 0.2; done

json() { python3 -c "import json,sys;print(json.load(sys.stdin)[\"$1\"])"; }
ADMIN=$(curl -sf "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | json token)
# The attacker: an ordinary user whose token may read and publish, nothing more.
curl -sf "$URL/api/v1/users" -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"username":"mallory","password":"mallory-password-123","role":"user"}' >/dev/null
MALLORY=$(curl -sf "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"mallory","password":"mallory-password-123"}' | json token)
TOKEN=$(curl -sf "$URL/api/v1/tokens" -H "Authorization: Bearer $MALLORY" -H 'content-type: application/json' \
  -d '{"name":"bombs","scopes":["read","publish"]}' | json token)
curl -sf "$URL/api/v1/models/normal/versions" -H "Authorization: Bearer $ADMIN" \
  -F model=@tests/fixtures/affine.onnx -F 'metadata={"visibility":"public"}' >/dev/null
echo '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}' > "$OUT/normal.json"

: > "$OUT/rss.txt"
( while kill -0 $SERVER 2>/dev/null; do awk '/VmRSS/ {print $2}' /proc/$SERVER/status >> "$OUT/rss.txt"; sleep 0.1; done ) &
SAMPLER=$!

BODY="$OUT/normal.json" TOKEN="$ADMIN" wrk -t1 -c64 -d"$DURATION" --latency \
  -s bench/serving/post.lua "$URL/v2/models/normal/infer" > "$OUT/wrk.txt" &
WRK=$!
sleep 2

x='{"name":"x","shape":[1],"datatype":"FP32","data":[1]}'
declare -A BODIES=(
  [expand]="{\"inputs\":[$x,{\"name\":\"shape\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[25000,20000]}]}"
  [constant]="{\"inputs\":[$x]}"
  [loop]="{\"inputs\":[{\"name\":\"n\",\"shape\":[],\"datatype\":\"INT64\",\"data\":[1125899906842624]},$x]}"
  [output]="{\"inputs\":[$x]}"
)
printf 'round\tbomb\tpush\tstatus\tseconds\tanswer\n' > "$OUT/answers.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for bomb in expand constant loop output; do
    name="bomb-$bomb-$round"
    push=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/models/$name/versions" \
      -H "Authorization: Bearer $TOKEN" -F model=@"tests/fixtures/bomb_$bomb.onnx")
    start=$(date +%s.%N)
    answer=$(curl -s -w '\t%{http_code}' "$URL/v2/models/$name/infer" -H "Authorization: Bearer $TOKEN" \
      -H 'content-type: application/json' -d "${BODIES[$bomb]}")
    took=$(echo "$(date +%s.%N) - $start" | bc)
    printf '%s\t%s\t%s\t%s\t%.2f\t%s\n' "$round" "$bomb" "$push" "${answer##*$'\t'}" "$took" \
      "$(cut -c1-160 <<<"${answer%$'\t'*}")" >> "$OUT/answers.tsv"
  done
done
wait $WRK
kill $SAMPLER 2>/dev/null || true
alive=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")

peak=$(sort -n "$OUT/rss.txt" | tail -1)
requests=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk.txt")
sockets=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$OUT/wrk.txt")
{
  echo "bombs: $ROUNDS rounds of 4, ceilings: inference_memory_mb=$INFERENCE_MB memory_budget_mb=$BUDGET_MB max_run_ms=$MAX_RUN_MS"
  echo "normal model under wrk -c64 -d$DURATION: $requests requests, non-2xx ${non2xx:-0}, socket errors ${sockets:-0}"
  awk '/Requests\/sec/ {print "normal model req/s: " $2} $1 == "50%" {print "p50: " $2} $1 == "99%" {print "p99: " $2}' "$OUT/wrk.txt"
  echo "server peak RSS: $((peak / 1024)) MiB (ceilings together: $((INFERENCE_MB + BUDGET_MB)) MiB)"
  echo "healthz after: $alive"
  echo "bomb answers (status: count, slowest seconds):"
  awk -F'\t' 'NR > 1 {k = $2 " push " $3 " -> " $4; n[k]++; if ($5 > m[k]) m[k] = $5} END {for (k in n) printf "  %s: %d, slowest %.2f s\n", k, n[k], m[k]}' "$OUT/answers.tsv" | sort
} | tee "$OUT/summary.txt"
