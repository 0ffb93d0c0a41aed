#!/usr/bin/env bash
# Catalog search latency with 10,000 models, on SQLite and on PostgreSQL, through the HTTP
# API of a release build. Needs PostgreSQL (scripts/services.sh starts it).
#
# usage: bench/search.sh [MODELS=10000] [REQUESTS=500]
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-10000}
REQUESTS=${2:-500}
OUT=bench/out/search
PORT=${PORT:-18081}
rm -rf "$OUT" && mkdir -p "$OUT"
bash scripts/fetch-onnxruntime.sh >/dev/null
eval "$(bash scripts/services.sh)"
cargo build --release --locked -p caravan -p caravan-bench >&2
BIN=$PWD/target/release

PG_ADMIN=${CARAVAN_TEST_POSTGRES_URL:-postgres://caravan:caravan@127.0.0.1:5432/caravan}
PG_BENCH=${PG_ADMIN%/*}/caravan_bench

for backend in sqlite postgres; do
  if [ "$backend" = sqlite ]; then
    DB="sqlite://$PWD/$OUT/catalog.db"
  else
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS caravan_bench WITH (FORCE)" -c "CREATE DATABASE caravan_bench"
    DB=$PG_BENCH
  fi
  CARAVAN_ADMIN_PASSWORD=bench-password CARAVAN__DATA_DIR="$OUT/data-$backend" \
  CARAVAN__DATABASE__URL="$DB" CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__LOG__LEVEL=warn \
    "$BIN/caravan" serve 2>"$OUT/server-$backend.log" &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  "$BIN/seed-catalog" --database-url "$DB" --models "$MODELS"
  JWT=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
  echo
  echo "### $backend, $MODELS models, as admin (no visibility filter), concurrency 1"
  "$BIN/search-load" --url "http://127.0.0.1:$PORT" --token "$JWT" --requests "$REQUESTS"
  echo
  echo "### $backend, $MODELS models, anonymous (public models only), concurrency 1"
  "$BIN/search-load" --url "http://127.0.0.1:$PORT" --requests "$REQUESTS"
  echo
  echo "### $backend, $MODELS models, as admin, concurrency 8"
  "$BIN/search-load" --url "http://127.0.0.1:$PORT" --token "$JWT" --requests "$REQUESTS" --concurrency 8
  kill $SERVER; wait $SERVER 2>/dev/null || true
done
