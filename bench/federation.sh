#!/usr/bin/env bash
# Federation sync on loopback between two release-build instances paired over mutual TLS with
# `caravan federation init`: the first sync of N small models from A to B, then an incremental
# sync after one change on A. Times come from the subscription's own status, polled over REST.
#
# usage: bench/federation.sh [MODELS=1000] [BACKEND=sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-1000}
BACKEND=${2:-sqlite}
OUT=bench/out/federation
rm -rf "$OUT" && mkdir -p "$OUT"
bash scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release --locked -p caravan >&2
BIN=$PWD/target/release/caravan

# One model more than is published first: it becomes the change of the incremental sync.
python3 bench/make-large-model.py --many $((MODELS + 1)) "$OUT/models"
EXTRA=$OUT/models/m$(printf %05d "$MODELS").onnx
source bench/federation-pair.sh
configure a; launch a
configure b; launch b
A=${URL[a]}; B=${URL[b]}
TOKEN[a]=$(token "$A"); TOKEN[b]=$(token "$B")
TA=${TOKEN[a]}; TB=${TOKEN[b]}
# Each registers the other from its identity endpoint.
pair a b; pair b a

echo "== pushing $MODELS models to A" >&2
start_push=$(date +%s.%N)
push_models a "$OUT/models" "$MODELS"
push_secs=$(echo "$(date +%s.%N) - $start_push" | bc)

status() { curl -sf "$B/api/v1/subscriptions" -H "Authorization: Bearer $TB" | jq -c ".items[] | select(.id == \"$1\")"; }
# wait_imported ID COUNT: polls until the subscription has imported COUNT versions.
wait_imported() {
  while :; do
    local s; s=$(status "$1")
    [ "$(jq .imported <<<"$s")" -ge "$2" ] && { echo "$s"; return; }
    [ "$(jq .failures <<<"$s")" -gt 0 ] && { echo "sync failed: $s" >&2; exit 1; }
    sleep 0.02
  done
}

echo "== first sync" >&2
t0=$(date +%s.%N)
SUB=$(curl -sf "$B/api/v1/subscriptions" -H "Authorization: Bearer $TB" -H 'Content-Type: application/json' \
  -d '{"peer":"a","catalog_id":"public","interval_secs":3600,"visibility":"organization"}' | jq -r .id)
first=$(wait_imported "$SUB" "$MODELS")
first_secs=$(echo "$(date +%s.%N) - $t0" | bc)

echo "== incremental sync after one new version on A" >&2
curl -sf -o /dev/null -H "Authorization: Bearer $TA" -F "model=@$EXTRA" "$A/api/v1/models/m00000/versions"
t1=$(date +%s.%N)
curl -sf -o /dev/null -X POST "$B/api/v1/subscriptions/$SUB/sync" -H "Authorization: Bearer $TB"
second=$(wait_imported "$SUB" $((MODELS + 1)))
incremental_secs=$(echo "$(date +%s.%N) - $t1" | bc)

imported_b=$(curl -sf "$B/api/v1/models?limit=1&q=m00000" -H "Authorization: Bearer $TB" | jq -r '.items[0].name')
tee "$OUT/results.txt" <<EOF
backend=$BACKEND models=$MODELS
push of $MODELS models to A (2 parallel curl): ${push_secs}s
first sync of $MODELS models (subscribe -> all imported on B): ${first_secs}s
incremental sync, one new version (sync now -> imported on B): ${incremental_secs}s
B's copy of m00000: $imported_b; subscription after: $second
EOF
