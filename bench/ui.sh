#!/usr/bin/env bash
# Web UI page latency with 10,000 models in the catalog, on SQLite and on PostgreSQL, against
# a release build: signed in as admin (every model visible) and anonymously (public only).
# Needs PostgreSQL (scripts/services.sh starts it).
#
# usage: bench/ui.sh [MODELS=10000] [REQUESTS=200]
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-10000}
REQUESTS=${2:-200}
OUT=bench/out/ui
rm -rf "$OUT" && mkdir -p "$OUT"
bash scripts/fetch-onnxruntime.sh >/dev/null
eval "$(bash scripts/services.sh)"
cargo build --release --locked -p caravan -p caravan-bench >&2
BIN=$PWD/target/release
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

PG_ADMIN=${CARAVAN_TEST_POSTGRES_URL:-postgres://caravan:caravan@127.0.0.1:5432/caravan}
for backend in sqlite postgres; do
  if [ "$backend" = sqlite ]; then
    DB="sqlite://$PWD/$OUT/catalog.db"
  else
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS caravan_ui_bench WITH (FORCE)" -c "CREATE DATABASE caravan_ui_bench"
    DB=${PG_ADMIN%/*}/caravan_ui_bench
  fi
  CARAVAN_ADMIN_PASSWORD=bench-password CARAVAN__DATA_DIR="$OUT/data-$backend" \
  CARAVAN__DATABASE__URL="$DB" CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__LOG__LEVEL=warn \
    "$BIN/caravan" serve >"$OUT/server-$backend.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  "$BIN/seed-catalog" --database-url "$DB" --models "$MODELS"
  JWT=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
  echo
  echo "### $backend, $MODELS models, signed in as admin"
  "$BIN/page-load" --url "http://127.0.0.1:$PORT" --session "$JWT" --requests "$REQUESTS"
  echo
  echo "### $backend, $MODELS models, anonymous"
  "$BIN/page-load" --url "http://127.0.0.1:$PORT" --requests "$REQUESTS"
  kill $SERVER; wait $SERVER 2>/dev/null || true
done
