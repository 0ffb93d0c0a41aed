#!/usr/bin/env bash
# `caravan runner` beside `caravan serve` on the same model, in one run: time from start to
# ready, RSS idle and after load, V2 JSON req/s at concurrency 1, 8 and 64 (wrk, the two
# alternating at each level), and the time from an alias move on the server to a runner in
# follow mode serving the new version (MOVES moves; median and max).
# Results: bench/out/runner/summary.txt.
#
# usage: bench/runner.sh   (DURATION=10s MOVES=20; CARAVAN_BIN_DIR=target/release skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
MOVES=${MOVES:-20}
OUT=bench/out/runner
MODELS=bench/out/models
rm -rf "$OUT" && mkdir -p "$OUT" "$MODELS"
log() { printf '[runner] %s\n' "$*" >&2; }

bash scripts/fetch-onnxruntime.sh >/dev/null
command -v wrk >/dev/null || { log "wrk is needed: apt-get install -y wrk"; exit 1; }
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
export CARAVAN__INFERENCE__ORT_LIBRARY=$PWD/.ort/lib/libonnxruntime.so CARAVAN__LOG__LEVEL=warn

# The serving benchmark's small model (made by its script once) and its one-row JSON body.
if [ ! -f "$MODELS/cloud_forensics_mlp.onnx" ]; then
  dir=bench/.venv-models
  if ! cmp -s bench/serving/requirements-models.txt "$dir/requirements.txt" 2>/dev/null; then
    rm -rf "$dir" && python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r bench/serving/requirements-models.txt
    cp bench/serving/requirements-models.txt "$dir/requirements.txt"
  fi
  "$dir/bin/python" examples/cloud-forensics/cloud_forensics_model.py --out "$MODELS" >&2
fi
MODEL=$PWD/$MODELS/cloud_forensics_mlp.onnx
python3 bench/serving/make_bodies.py "$MODELS" "$OUT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss() { ps -o rss= -p "$1" | awk '{printf "%d", $1 / 1024}'; }
now() { date +%s.%N; }
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
# wait_ready URL: seconds until URL answers 200 (polled every 5 ms).
wait_ready() {
  local t0; t0=$(now)
  for _ in $(seq 1 6000); do
    curl -sf -o /dev/null "$1" && { echo "$(now) - $t0" | bc; return; }
    sleep 0.005
  done
  log "$1 never became ready"; exit 1
}

# The server, with the model pushed and aliased.
SPORT=$(free_port)
CARAVAN__DATA_DIR="$OUT/server" CARAVAN__HTTP__BIND=127.0.0.1:$SPORT CARAVAN_ADMIN_PASSWORD=bench-password \
  "$BIN" serve 2>"$OUT/server.log" &
SERVER=$!; PIDS+=($SERVER)
server_ready=$(wait_ready "http://127.0.0.1:$SPORT/readyz")
S=http://127.0.0.1:$SPORT
TOKEN=$(curl -sf "$S/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | jq -r .token)
for file in "$MODEL" tests/fixtures/affine.onnx tests/fixtures/affine_v2.onnx; do
  name=$([ "$file" = "$MODEL" ] && echo small || echo affine)
  curl -sf -o /dev/null "$S/api/v1/models/$name/versions" -H "Authorization: Bearer $TOKEN" -F model=@"$file"
done
curl -sf -o /dev/null -X PUT "$S/api/v1/models/affine/aliases/champion" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"version":1}'

# The runner on the same file: start to ready, idle RSS.
RPORT=$(free_port)
t0=$(now)
"$BIN" runner --model "$MODEL" --name small --bind 127.0.0.1:$RPORT 2>"$OUT/runner.log" &
RUNNER=$!; PIDS+=($RUNNER)
runner_ready=$(wait_ready "http://127.0.0.1:$RPORT/readyz")
R=http://127.0.0.1:$RPORT
sleep 1
runner_idle=$(rss $RUNNER); server_idle=$(rss $SERVER)

# req/s, alternating runner and server at each concurrency.
printf 'what\tconcurrency\treq/s\tp50\tp99\tnon-2xx\n' > "$OUT/results.tsv"
for c in 1 8 64; do
  for who in runner server; do
    if [ "$who" = runner ]; then url=$R; auth=(); else url=$S; auth=(TOKEN="$TOKEN"); fi
    env BODY="$OUT/json-1.json" "${auth[@]}" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$DURATION" --latency \
      -s bench/serving/post.lua "$url/v2/models/small/infer" > "$OUT/wrk-$who-$c.txt"
    awk -v who="$who" -v c="$c" '
      /Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} /Non-2xx/ {bad = $NF}
      END {printf "%s\t%s\t%s\t%s\t%s\t%d\n", who, c, rps, p50, p99, bad}' "$OUT/wrk-$who-$c.txt" >> "$OUT/results.tsv"
  done
done
runner_loaded=$(rss $RUNNER); server_loaded=$(rss $SERVER)

# Follow mode: alias moves on the server, timed until the runner serves the new version.
FPORT=$(free_port)
READ=$(curl -sf "$S/api/v1/tokens" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"runner","scopes":["read"]}' | jq -r .token)
echo "$READ" > "$OUT/read.token"
"$BIN" runner --follow "$S/api/v1/models/affine/aliases/champion" --token-file "$OUT/read.token" \
  --bind 127.0.0.1:$FPORT 2>"$OUT/follower.log" &
PIDS+=($!)
wait_ready "http://127.0.0.1:$FPORT/readyz" >/dev/null
: > "$OUT/moves.txt"
for i in $(seq 1 "$MOVES"); do
  target=$(( i % 2 == 1 ? 2 : 1 ))
  t0=$(now)
  curl -sf -o /dev/null -X PUT "$S/api/v1/models/affine/aliases/champion" -H "Authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d "{\"version\":$target}"
  until [ "$(curl -sf "http://127.0.0.1:$FPORT/model" | jq .source.version)" = "$target" ]; do sleep 0.002; done
  echo "$(now) - $t0" | bc >> "$OUT/moves.txt"
done
moves=$(sort -n "$OUT/moves.txt" | awk '{v[NR] = $1} END {printf "median %.3f s, max %.3f s (%d moves)", v[int((NR + 1) / 2)], v[NR], NR}')

{
  echo "start to ready: runner ${runner_ready} s, server ${server_ready} s"
  echo "RSS idle: runner ${runner_idle} MiB, server ${server_idle} MiB (the server holds a catalog and two models)"
  echo "RSS after the wrk runs: runner ${runner_loaded} MiB, server ${server_loaded} MiB"
  column -t -s $'\t' "$OUT/results.tsv"
  echo "alias move on the server to the follower serving it: $moves"
} | tee "$OUT/summary.txt"
