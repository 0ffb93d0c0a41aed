# Sourced by the federation benches: two (or more) instances on loopback, paired over mutual
# TLS with `caravan federation init`, the first one's CA signing every other's certificate.
# The caller sets OUT (a fresh directory), BIN (the caravan binary) and BACKEND (sqlite or
# postgres), and may set EXTRA_TOML (appended to each instance's [federation] table).
#
#   configure a; launch a; configure b; launch b   # URL[a], URL[b]; PID[a], PID[b]
#   TOKEN[a]=$(token "${URL[a]}"); pair a b; pair b a
# Instances are killed when the caller exits.

declare -A URL PID TOKEN
trap 'kill "${PID[@]}" 2>/dev/null || true' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# database NAME: a fresh database URL for instance NAME.
database() {
  if [ "$BACKEND" = postgres ]; then
    eval "$(bash scripts/services.sh)"
    local admin=${CARAVAN_TEST_POSTGRES_URL:-postgres://caravan:caravan@127.0.0.1:5432/caravan}
    psql -q "$admin" -c "DROP DATABASE IF EXISTS caravan_fed_$1 WITH (FORCE)" -c "CREATE DATABASE caravan_fed_$1" >&2
    echo "${admin%/*}/caravan_fed_$1"
  else
    echo "sqlite://$PWD/$OUT/$1/caravan.db"
  fi
}

# sql NAME QUERY: runs QUERY on instance NAME's catalog, one row per line, columns tab-separated.
sql() {
  local url; url=$(awk -F'"' '/^url = / {print $2; exit}' "$OUT/$1.toml")
  if [ "$BACKEND" = postgres ]; then
    psql -qtA -F $'\t' "$url" -c "$2"
  else
    python3 - "${url#sqlite://}" "$2" <<'PY'
import sqlite3, sys
for row in sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute(sys.argv[2]):
    print("\t".join("" if v is None else str(v) for v in row))
PY
  fi
}

# configure NAME: writes NAME's config and makes its federation certificate.
configure() {
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
${EXTRA_TOML:-}
[federation.tls]
cert = "$OUT/$name-fed/cert.pem"
key = "$OUT/$name-fed/key.pem"
ca = ["$OUT/a-fed/ca.pem"]
TOML
  local ca=()
  [ "$name" = a ] || ca=(--ca-cert "$OUT/a-fed/ca.pem" --ca-key "$OUT/a-fed/ca.key")
  "$BIN" --config "$OUT/$name.toml" federation init --out "$OUT/$name-fed" "${ca[@]}" >/dev/null
  URL[$name]="http://127.0.0.1:$api"
}

# launch NAME: starts NAME (again, after a kill: same config, same data) and waits for /readyz.
# (Not called in $(...): the server would hold the substitution's pipe open, and PID would be lost.)
launch() {
  local name=$1
  CARAVAN_ADMIN_PASSWORD=bench-password "$BIN" --config "$OUT/$name.toml" serve >>"$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  for _ in $(seq 1 300); do curl -sf "${URL[$name]}/readyz" >/dev/null && return; sleep 0.1; done
  echo "$name did not become ready; see $OUT/$name.log" >&2
  exit 1
}

token() {
  curl -sf "$1/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"bench-password"}' | jq -r .token
}

# pair ON OTHER: ON registers OTHER from OTHER's identity endpoint (both need TOKEN set).
pair() {
  curl -sf "${URL[$2]}/api/v1/federation/identity" -H "Authorization: Bearer ${TOKEN[$2]}" \
    | jq '{name, api_url, subject, fingerprint, signing_key}' \
    | curl -sf "${URL[$1]}/api/v1/peers" -H "Authorization: Bearer ${TOKEN[$1]}" \
        -H 'Content-Type: application/json' -d @- >/dev/null
}

# push_models NAME DIR COUNT: pushes the first COUNT models of DIR to NAME as public models
# named after their files, two at a time.
push_models() {
  ls "$2" | head -n "$3" | xargs -P 2 -I{} sh -c \
    'curl -sf -o /dev/null -H "Authorization: Bearer $3" -F "model=@$1/$2" -F "metadata={\"visibility\":\"public\"}" "$0/api/v1/models/${2%.onnx}/versions"' \
    "${URL[$1]}" "$2" {} "${TOKEN[$1]}"
}
