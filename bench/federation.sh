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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

database() {
  if [ "$BACKEND" = postgres ]; then
    eval "$(bash scripts/services.sh)"
    local admin=${CARAVAN_TEST_POSTGRES_URL:-postgres://caravan:caravan@127.0.0.1:5432/caravan}
    psql -q "$admin" -c "DROP DATABASE IF EXISTS caravan_fed_$1 WITH (FORCE)" -c "CREATE DATABASE caravan_fed_$1"
    echo "${admin%/*}/caravan_fed_$1"
  else
    echo "sqlite://$PWD/$OUT/$1/caravan.db"
  fi
}

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
# start NAME: writes its config, makes its certificate (B's from A's CA), starts it and sets URL.
# (Not called in $(...): the server would hold the substitution's pipe open, and PIDS would be lost.)
start() {
  local name=$1 api fed
  api=$(free_port); fed=$(free_port)
  mkdir -p "$OUT/$name"
  cat > "$OUT/$name.toml" <<TOML
data_dir = "$OUT/$name"
[database]
url = "$(database "$name")"
[http]
bind = "127.0.0.1:$api"
[log]
level = "warn"
[federation]
bind = "127.0.0.1:$fed"
name = "$name"
poll_secs = 5
[federation.tls]
cert = "$OUT/$name-fed/cert.pem"
key = "$OUT/$name-fed/key.pem"
ca = ["$OUT/a-fed/ca.pem"]
TOML
  local ca=()
  [ "$name" = a ] || ca=(--ca-cert "$OUT/a-fed/ca.pem" --ca-key "$OUT/a-fed/ca.key")
  "$BIN" --config "$OUT/$name.toml" federation init --out "$OUT/$name-fed" "${ca[@]}" >/dev/null
  CARAVAN_ADMIN_PASSWORD=bench-password "$BIN" --config "$OUT/$name.toml" serve >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  URL="http://127.0.0.1:$api"
  for _ in $(seq 1 300); do curl -sf "$URL/readyz" >/dev/null && return; sleep 0.1; done
  echo "$name did not become ready; see $OUT/$name.log" >&2
  exit 1
}
start a; A=$URL
start b; B=$URL
token() { curl -sf "$1/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | jq -r .token; }
TA=$(token "$A"); TB=$(token "$B")

# Each registers the other from its identity endpoint.
pair() { # pair ON ON_TOKEN OTHER OTHER_TOKEN
  curl -sf "$3/api/v1/federation/identity" -H "Authorization: Bearer $4" \
    | jq '{name, api_url, subject, fingerprint, signing_key}' \
    | curl -sf "$1/api/v1/peers" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d @- >/dev/null
}
pair "$A" "$TA" "$B" "$TB"
pair "$B" "$TB" "$A" "$TA"

echo "== pushing $MODELS models to A" >&2
start_push=$(date +%s.%N)
ls "$OUT/models" | head -n "$MODELS" | xargs -P 2 -I{} sh -c \
  'curl -sf -o /dev/null -H "Authorization: Bearer $3" -F "model=@$1/models/$2" -F "metadata={\"visibility\":\"public\"}" "$0/api/v1/models/${2%.onnx}/versions"' \
  "$A" "$OUT" {} "$TA"
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
