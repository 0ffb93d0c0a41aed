#!/usr/bin/env bash
# Batch scoring of a 1,000,000-row CSV through a scoring pipeline (release build, SQLite, local
# disk): rows/s from the run's own report, and the server's resident memory sampled every
# 100 ms during the run (peak growth over the memory before the run), next to in-process ONNX
# Runtime rows/s for the same model and batch size (ort-inproc).
#
# usage: bench/score.sh [ROWS=1000000] [BATCH=1024]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
BATCH=${2:-1024}
OUT=bench/out/score
rm -rf "$OUT" && mkdir -p "$OUT"
bash scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release --locked -p caravan -p caravan-bench >&2
BIN=$PWD/target/release
MODEL=tests/fixtures/cloud-forensics/cloud_forensics_mlp.onnx
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT

echo "== writing $ROWS rows" >&2
python3 - "$OUT/rows.csv" "$ROWS" <<'PY'
import random, sys
path, rows = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
with open(path, "w") as f:
    f.write(",".join(f"f{i}" for i in range(20)) + "\n")
    for _ in range(rows):
        f.write(",".join(f"{rng.uniform(0, 8):.3f}" for _ in range(20)) + "\n")
PY

CARAVAN_ADMIN_PASSWORD=bench-password CARAVAN__DATA_DIR="$OUT/data" CARAVAN__HTTP__BIND="127.0.0.1:$PORT" \
  CARAVAN__LOG__LEVEL=warn CARAVAN__SERVING__MAX_ROWS_PER_REQUEST="$BATCH" \
  "$BIN/caravan" serve >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "$B/readyz" >/dev/null && break; sleep 0.1; done
T=$(curl -sf "$B/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
auth=(-H "Authorization: Bearer $T")
curl -sf -o /dev/null "${auth[@]}" -F "model=@$MODEL" "$B/api/v1/models/forensics/versions"
curl -sf -o /dev/null "${auth[@]}" -X PUT -H 'content-type: application/json' -d '{"version":"1"}' "$B/api/v1/models/forensics/aliases/champion"
curl -sf -o /dev/null "${auth[@]}" -F "file=@$OUT/rows.csv" "$B/api/v1/datasets/rows/versions"
columns=$(python3 -c 'import json; print(json.dumps([f"f{i}" for i in range(20)]))')
curl -sf -o /dev/null "${auth[@]}" -H 'content-type: application/json' "$B/api/v1/pipelines" -d "{
  \"name\": \"score-rows\", \"model\": \"forensics\",
  \"score\": {\"dataset\": \"rows\", \"inputs\": {\"X\": $columns}, \"output_dataset\": \"rows-scored\", \"batch_rows\": $BATCH}}"

rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
before=$(rss)
curl -sf -o /dev/null "${auth[@]}" -X POST "$B/api/v1/pipelines/score-rows/runs"
peak=$before
while :; do
  now=$(rss); [ "$now" -gt "$peak" ] && peak=$now
  status=$(curl -sf "${auth[@]}" "$B/api/v1/pipelines/score-rows/runs" | python3 -c 'import json,sys; r=json.load(sys.stdin)["items"][0]; print(r["status"])')
  case $status in succeeded|failed|cancelled) break;; esac
  sleep 0.1
done
report=$(curl -sf "${auth[@]}" "$B/api/v1/pipelines/score-rows/runs" | python3 -c '
import json,sys
r=json.load(sys.stdin)["items"][0]
d=r["state"]["steps"][0]["details"] or {}
print(r["status"], r.get("error"), d.get("rows"), round(d.get("seconds", 0), 2), round(d.get("rows", 0) / max(d.get("seconds", 1), 1e-9)))')
read -r status error rows seconds rate <<<"$report"
kill $SERVER; wait $SERVER 2>/dev/null || true

{
  echo "scoring run: status=$status rows=$rows seconds=$seconds rows/s=$rate (batch $BATCH; error: $error)"
  echo "server RSS before the run: $((before / 1024)) MiB; peak during it: $((peak / 1024)) MiB; growth: $(((peak - before) / 1024)) MiB"
  echo
  echo "in-process ONNX Runtime, same model:"
  "$BIN/ort-inproc" "$MODEL" --batches "$BATCH" --threads 1 --ort-library .ort/lib/libonnxruntime.so
  "$BIN/ort-inproc" "$MODEL" --batches "$BATCH" --threads 2 --ort-library .ort/lib/libonnxruntime.so | tail -1
} | tee "$OUT/results.txt"
