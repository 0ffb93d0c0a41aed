#!/usr/bin/env bash
# Fault: PostgreSQL restarts under load. A release `caravan serve` on its own PostgreSQL
# database serves a champion-aliased model to `wrk -c16` while a client pushes a new version
# every 0.3 s and /readyz is polled every 0.1 s; RESTART_AT seconds in, the PostgreSQL cluster
# restarts. Records what failed and for how long, then checks the catalog against the store:
# every version row has its blob, every blob has a row, no staging file is left.
# Results: bench/out/faults/pg-restart/summary.txt.
#
# usage: bench/faults/pg-restart.sh   (DURATION=30 RESTART_AT=10; needs root, pg_ctlcluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-30}
RESTART_AT=${RESTART_AT:-10}
OUT=bench/out/faults/pg-restart
PORT=18410
URL=http://127.0.0.1:$PORT
rm -rf "$OUT" && mkdir -p "$OUT"
log() { printf '[pg-restart] %s\n' "$*" >&2; }

bash scripts/fetch-onnxruntime.sh >/dev/null
eval "$(bash scripts/services.sh)"
command -v wrk >/dev/null || { log "wrk is needed: apt-get install -y wrk"; exit 1; }
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}
CLUSTER=$(ls /etc/postgresql | sort -n | tail -1)
DB=caravan_fault_$$
ADMIN_URL=postgres://caravan:caravan@127.0.0.1:5432/caravan
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB"
DB_URL=postgres://caravan:caravan@127.0.0.1:5432/$DB

env CARAVAN__INFERENCE__ORT_LIBRARY="$PWD/.ort/lib/libonnxruntime.so" CARAVAN__DATA_DIR="$OUT/data" \
    CARAVAN__DATABASE__URL="$DB_URL" CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__LOG__LEVEL=warn \
    CARAVAN_ADMIN_PASSWORD=bench-password "$BIN/caravan" serve 2>>"$OUT/caravan.log" &
SERVER=$!
cleanup() {
  kill $SERVER 2>/dev/null || true
  wait $SERVER 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
}
trap cleanup EXIT
for _ in $(seq 1 300); do curl -sf "$URL/v2/health/ready" >/dev/null && break; sleep 0.2; done

json() { python3 -c "import json,sys;print(json.load(sys.stdin)[\"$1\"])"; }
TOKEN=$(curl -sf "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | json token)
curl -sf "$URL/api/v1/models/normal/versions" -H "Authorization: Bearer $TOKEN" \
  -F model=@tests/fixtures/affine.onnx >/dev/null
curl -sf -X PUT "$URL/api/v1/models/normal/aliases/champion" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"version":1}' >/dev/null
echo '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}' > "$OUT/body.json"
python3 bench/make-large-model.py --many 400 "$OUT/models" >/dev/null

now() { date +%s.%N; }
START=$(now)
BODY="$OUT/body.json" TOKEN="$TOKEN" wrk -t1 -c16 -d"${DURATION}s" --latency \
  -s bench/serving/post.lua "$URL/v2/models/normal/infer" > "$OUT/wrk.txt" &
WRK=$!
( end=$(echo "$START + $DURATION" | bc)
  for model in "$OUT"/models/*.onnx; do
    (( $(echo "$(now) < $end" | bc) )) || break
    answer=$(curl -s -o /dev/null -w '%{http_code}\t%{time_total}' --max-time 10 \
      "$URL/api/v1/models/pushed/versions" -H "Authorization: Bearer $TOKEN" -F model=@"$model" || true)
    printf '%.2f\t%s\n' "$(echo "$(now) - $START" | bc)" "$answer" >> "$OUT/pushes.tsv"
    sleep 0.3
  done ) &
PUSHER=$!
( end=$(echo "$START + $DURATION" | bc)
  while (( $(echo "$(now) < $end" | bc) )); do
    answer=$(curl -s -o /dev/null -w '%{http_code}\t%{time_total}' --max-time 10 "$URL/readyz" || true)
    printf '%.2f\t%s\n' "$(echo "$(now) - $START" | bc)" "$answer" >> "$OUT/readyz.tsv"
    sleep 0.1
  done ) &
POLLER=$!

sleep "$RESTART_AT"
log "restarting PostgreSQL $CLUSTER"
t0=$(now)
pg_ctlcluster --skip-systemctl-redirect "$CLUSTER" main restart
restart_s=$(echo "$(now) - $t0" | bc)
restarted_at=$(echo "$t0 - $START" | bc)
wait $WRK $PUSHER $POLLER || true

# The catalog against the store.
versions=$(psql -qtA "$DB_URL" -c "SELECT sha256 FROM versions ORDER BY 1" | sort -u)
# blobs/sha256/ab/cdef... holds the blob whose SHA-256 is abcdef...
blobs=$(find "$OUT/data/objects/blobs/sha256" -type f 2>/dev/null | awk -F/ '{print $(NF-1) $NF}' | sort -u)
rows_without_blob=$(comm -23 <(echo "$versions") <(echo "$blobs") | grep -c . || true)
blobs_without_row=$(comm -13 <(echo "$versions") <(echo "$blobs") | grep -c . || true)
staged=$(find "$OUT/data/staging" -type f ! -name '*.lock' | wc -l)
pushed_versions=$(psql -qtA "$DB_URL" -c "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'pushed'")

requests=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk.txt")
sockets=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$OUT/wrk.txt")
{
  echo "PostgreSQL restart at ${restarted_at}s of ${DURATION}s took ${restart_s}s"
  echo "inference under wrk -c16: $requests requests, non-2xx ${non2xx:-0}, socket errors ${sockets:-0}"
  awk '/Requests\/sec/ {print "  req/s: " $2} $1 == "99%" {print "  p99: " $2} $1 == "Max" {}' "$OUT/wrk.txt"
  echo "pushes (status: count): $(cut -f2 "$OUT/pushes.tsv" | sort | uniq -c | awk '{printf "%s: %s  ", $2, $1}')"
  echo "  pushes answered 201: $(awk -F'\t' '$2 == 201' "$OUT/pushes.tsv" | wc -l); versions of 'pushed' in the catalog: $pushed_versions"
  echo "  slowest push: $(sort -t$'\t' -k3 -n "$OUT/pushes.tsv" | tail -1 | cut -f3) s"
  echo "/readyz polls not 200: $(awk -F'\t' '$2 != 200' "$OUT/readyz.tsv" | wc -l) of $(wc -l < "$OUT/readyz.tsv"); slowest answer $(sort -t$'\t' -k3 -n "$OUT/readyz.tsv" | tail -1 | cut -f3) s"
  echo "catalog vs store: version rows without a blob $rows_without_blob, blobs without a row $blobs_without_row, staging files left $staged"
  echo "server alive after: $(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"
} | tee "$OUT/summary.txt"
