#!/usr/bin/env bash
# The serving benchmark in one run: Caravan (V2 JSON and binary) beside a FastAPI +
# onnxruntime server and MLServer 1.7.1, on the cloud-forensics models, with wrk at
# concurrency 1, 8 and 64; in-process ONNX Runtime rows/s as the ceiling; batching on vs off;
# 256-row binary requests; and 100 alias swaps under load. Results: bench/out/serving/.
#
# usage: bench/serving/run.sh   (PASSES=3 DURATION=10s by default; Python venvs in bench/.venv-*)
#        SECTIONS="inproc caravan fastapi mlserver acumos" runs only those, adding to the results
set -euo pipefail
cd "$(dirname "$0")/../.."
PASSES=${PASSES:-3}
DURATION=${DURATION:-10s}
OUT=bench/out/serving
MODELS=bench/out/models
SECTIONS=${SECTIONS:-all}
mkdir -p "$OUT" "$MODELS"
[ "$SECTIONS" = all ] && : > "$OUT/results.tsv"
want() { [ "$SECTIONS" = all ] || [[ " $SECTIONS " == *" $1 "* ]]; }
log() { printf '[bench] %s\n' "$*" >&2; }

venv() { # venv NAME REQUIREMENTS -> path of its python
  local dir=bench/.venv-$1
  if ! cmp -s "$2" "$dir/requirements.txt" 2>/dev/null; then
    log "installing $2"
    rm -rf "$dir" && python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$2"
    cp "$2" "$dir/requirements.txt"
  fi
  echo "$dir/bin"
}

bash scripts/fetch-onnxruntime.sh >/dev/null
command -v wrk >/dev/null || { log "wrk is needed: apt-get install -y wrk"; exit 1; }
# CARAVAN_BIN_DIR: a folder holding already built release `caravan` and `ort-inproc` (to
# measure a given build while the tree changes); otherwise this tree is built.
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan -p caravan-bench >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}
ORT=$PWD/.ort/lib/libonnxruntime.so

if [ ! -f "$MODELS/cloud_forensics_mlp_large.onnx" ]; then
  py=$(venv models bench/serving/requirements-models.txt)
  log "generating the cloud-forensics models (about 1.5 min)"
  "$py/python" examples/cloud-forensics/cloud_forensics_model.py --out "$MODELS" >&2
fi
SMALL=$PWD/$MODELS/cloud_forensics_mlp.onnx
LARGE=$PWD/$MODELS/cloud_forensics_mlp_large.onnx
python3 bench/serving/make_bodies.py "$MODELS" "$OUT"

group_rss() { ps -o rss= -g "$1" | awk '{s += $1} END {printf "%d", s / 1024}'; }
wait_http() { for _ in $(seq 1 300); do curl -sf "$1" >/dev/null && return; sleep 0.2; done; log "$1 never answered"; exit 1; }
stop() { # SIGTERM to the group, then SIGKILL after 10 s (MLServer can hang on shutdown)
  kill -- -"$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 -- -"$1" 2>/dev/null || true
  while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
}
# in_session DIR CMD...: runs CMD in DIR as the leader of a new session (its PID is the
# process group that `stop` and `group_rss` use), in the background.
in_session() { local dir=$1; shift; setsid sh -c 'cd "$0" && exec "$@"' "$dir" "$@" & }

# check_answer NAME URL BODY [CURL ARGS...]: the server's answer to golden row 0 must carry
# the probability Python onnxruntime computed (0.9962995), or the benchmark stops.
check_answer() {
  local name=$1 url=$2 body=$3; shift 3
  local answer
  answer=$(curl -s "$url" -H 'Content-Type: application/json' -H 'Accept: application/json' "$@" -d @"$body")
  grep -q '0\.99629' <<<"$answer" || { log "$name answered $answer"; exit 1; }
}

# run SERVER MODEL CONC URL [ENV=VALUE...]: one wrk run, appended to results.tsv.
run() {
  local server=$1 model=$2 conc=$3 url=$4; shift 4
  local report
  report=$(env "$@" wrk -t1 -c"$conc" -d"$DURATION" --latency -s bench/serving/post.lua "$url")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$report")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
  errors=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$report")
  printf 'wrk\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$model" "$conc" "$rps" "$p50" "$p99" "$errors" >> "$OUT/results.tsv"
  log "$server $model c=$conc: $rps req/s, p50 $p50, p99 $p99, failed $errors"
}

JSON1=(BODY="$OUT/json-1.json")
BIN1=(BODY="$OUT/binary-1.bin" HEADER_LENGTH="$(cat "$OUT/binary-1.len")" CONTENT_TYPE=application/octet-stream)

start_caravan() { # start_caravan PORT [ENV=VALUE...]
  local port=$1; shift
  env CARAVAN__INFERENCE__ORT_LIBRARY="$ORT" CARAVAN__DATA_DIR="$OUT/caravan-data" CARAVAN__HTTP__BIND="127.0.0.1:$port" \
      CARAVAN__LOG__LEVEL=warn CARAVAN_ADMIN_PASSWORD=bench-password "$@" \
      setsid "$BIN/caravan" serve 2>>"$OUT/caravan.log" &
  CARAVAN_PID=$!
  wait_http "http://127.0.0.1:$port/v2/health/ready"
}

caravan_token() {
  local url=$1 jwt
  jwt=$(curl -sf "$url/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
  curl -sf "$url/api/v1/tokens" -H "Authorization: Bearer $jwt" -H 'content-type: application/json' \
    -d '{"name":"bench","scopes":["read","publish","deploy"]}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])'
}

if want inproc; then
log "in-process ONNX Runtime (the ceiling)"
: > "$OUT/inproc.md"
for threads in 1 2; do
  for model in small large; do
    file=$SMALL; [ "$model" = large ] && file=$LARGE
    echo "### in-process $model model, $threads thread(s)" >> "$OUT/inproc.md"
    "$BIN/ort-inproc" "$file" --threads "$threads" --ort-library "$ORT" >> "$OUT/inproc.md"
  done
done
fi

if want caravan; then
rm -rf "$OUT/caravan-data"
start_caravan 18100
CU=http://127.0.0.1:18100
TOKEN=$(caravan_token "$CU")
for m in small large; do
  file=$SMALL; [ "$m" = large ] && file=$LARGE
  curl -sf -o /dev/null "$CU/api/v1/models/cf-$m/versions" -H "Authorization: Bearer $TOKEN" -F "model=@$file"
done
check_answer caravan "$CU/v2/models/cf-small/infer" "$OUT/json-1.json" -H "Authorization: Bearer $TOKEN"

for pass in $(seq 1 "$PASSES"); do
  log "pass $pass of $PASSES: Caravan"
  for c in 1 8 64; do
    run caravan-json small "$c" "$CU/v2/models/cf-small/infer" "${JSON1[@]}" TOKEN="$TOKEN"
    run caravan-binary small "$c" "$CU/v2/models/cf-small/infer" "${BIN1[@]}" TOKEN="$TOKEN"
  done
  [ "$pass" = 1 ] && printf 'rss\tcaravan-json\t%s\n' "$(group_rss "$CARAVAN_PID")" >> "$OUT/results.tsv"
  run caravan-json large 64 "$CU/v2/models/cf-large/infer" "${JSON1[@]}" TOKEN="$TOKEN"
  run caravan-binary-256rows large 8 "$CU/v2/models/cf-large/infer" BODY="$OUT/binary-256.bin" \
    HEADER_LENGTH="$(cat "$OUT/binary-256.len")" CONTENT_TYPE=application/octet-stream TOKEN="$TOKEN"
  run caravan-binary-256rows small 8 "$CU/v2/models/cf-small/infer" BODY="$OUT/binary-256.bin" \
    HEADER_LENGTH="$(cat "$OUT/binary-256.len")" CONTENT_TYPE=application/octet-stream TOKEN="$TOKEN"
done
printf 'rss\tcaravan-after-all-runs\t%s\n' "$(group_rss "$CARAVAN_PID")" >> "$OUT/results.tsv"

log "100 alias swaps under load"
curl -sf -o /dev/null "$CU/api/v1/models/swap/versions" -H "Authorization: Bearer $TOKEN" -F "model=@$SMALL"
curl -sf -o /dev/null "$CU/api/v1/models/swap/versions" -H "Authorization: Bearer $TOKEN" -F "model=@$LARGE"
curl -sf -o /dev/null -X PUT "$CU/api/v1/models/swap/aliases/champion" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"version": 1}'
( for i in $(seq 1 100); do
    v=$(( i % 2 + 1 ))
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$CU/api/v1/models/swap/aliases/champion" \
      -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "{\"version\": $v}")
    [ "$code" = 200 ] || echo "swap $i answered $code" >&2
    echo "$i"
  done > "$OUT/swaps.txt" ) &
SWAPS=$!
DURATION=20s run caravan-during-100-swaps small 64 "$CU/v2/models/swap/infer" "${JSON1[@]}" TOKEN="$TOKEN"
wait $SWAPS
log "swaps completed: $(wc -l < "$OUT/swaps.txt")"
stop "$CARAVAN_PID"

log "Caravan without batching"
start_caravan 18100 CARAVAN__SERVING__BATCHING=false
for pass in $(seq 1 "$PASSES"); do
  run caravan-json-nobatch large 64 "$CU/v2/models/cf-large/infer" "${JSON1[@]}" TOKEN="$TOKEN"
done
stop "$CARAVAN_PID"
fi

if want fastapi; then
log "FastAPI + onnxruntime"
FA=$(venv fastapi bench/serving/requirements-fastapi.txt)
for m in small large; do
  file=$SMALL; [ "$m" = large ] && file=$LARGE
  MODEL=$file in_session bench/serving "$PWD/$FA/uvicorn" fastapi_server:app --host 127.0.0.1 --port 18101 \
     --workers 1 --no-access-log --loop uvloop --http httptools 2>>"$OUT/fastapi.log"
  PID=$!
  wait_http http://127.0.0.1:18101/v2/health/ready
  [ "$m" = small ] && check_answer fastapi http://127.0.0.1:18101/v2/models/m/infer "$OUT/json-1.json"
  for pass in $(seq 1 "$PASSES"); do
    if [ "$m" = small ]; then concs="1 8 64"; else concs=64; fi
    for c in $concs; do run fastapi "$m" "$c" http://127.0.0.1:18101/v2/models/m/infer "${JSON1[@]}"; done
  done
  [ "$m" = small ] && printf 'rss\tfastapi\t%s\n' "$(group_rss "$PID")" >> "$OUT/results.tsv"
  stop "$PID"
done
fi

if want mlserver; then
log "MLServer 1.7.1"
ML=$(venv mlserver bench/serving/requirements-mlserver.txt)
for workers in 1 0; do
  for m in small large; do
    file=$SMALL; [ "$m" = large ] && file=$LARGE
    dir=$OUT/mlserver-$m-pw$workers
    rm -rf "$dir" && mkdir -p "$dir/m"
    cp bench/serving/mlserver/onnx_runtime.py "$dir/"
    printf '{"http_port": 18102, "grpc_port": 18103, "metrics_port": 18104, "parallel_workers": %s}\n' "$workers" > "$dir/settings.json"
    printf '{"name": "m", "implementation": "onnx_runtime.OnnxRuntime", "parameters": {"uri": "%s"}}\n' "$file" > "$dir/m/model-settings.json"
    in_session "$dir" "$PWD/$ML/mlserver" start . 2>>"$dir/mlserver.log" >&2
    PID=$!
    for _ in $(seq 1 300); do curl -sf http://127.0.0.1:18102/v2/models/m/ready >/dev/null && break; sleep 0.2; done
    [ "$m" = small ] && check_answer "mlserver-pw$workers" http://127.0.0.1:18102/v2/models/m/infer "$OUT/json-1.json"
    for pass in $(seq 1 "$PASSES"); do
      if [ "$m" = small ]; then concs="1 8 64"; else concs=64; fi
      for c in $concs; do run "mlserver-pw$workers" "$m" "$c" http://127.0.0.1:18102/v2/models/m/infer "${JSON1[@]}"; done
    done
    [ "$m" = small ] && printf 'rss\tmlserver-pw%s\t%s\n' "$workers" "$(group_rss "$PID")" >> "$OUT/results.tsv"
    stop "$PID"
  done
done
fi

if want acumos; then
log "Acumos model runner 0.2.6 (Python 3.9)"
PY39=${PY39:-$(ls -d "$HOME"/.pyenv/versions/3.9.*/bin/python 2>/dev/null | tail -1)}
if [ -x "$PY39" ]; then
  AC=bench/.venv-acumos
  if ! cmp -s bench/serving/acumos/requirements.txt "$AC/requirements.txt" 2>/dev/null; then
    log "installing the Acumos stack"
    rm -rf "$AC" && "$PY39" -m venv "$AC"
    "$AC/bin/pip" install --quiet --disable-pip-version-check -r bench/serving/acumos/requirements.txt
    cp bench/serving/acumos/requirements.txt "$AC/requirements.txt"
  fi
  cp bench/serving/acumos/protoc "$AC/bin/protoc"
  "$AC/bin/python" bench/serving/acumos/body.py "$MODELS" "$OUT/acumos-body.json"
  ACUMOS=(BODY="$OUT/acumos-body.json" ACCEPT=application/json)
  for m in small large; do
    file=$SMALL; [ "$m" = large ] && file=$LARGE
    rm -rf "$OUT/acumos-$m"
    PATH="$PWD/$AC/bin:$PATH" "$AC/bin/python" bench/serving/acumos/dump_model.py "$file" "$OUT/acumos-$m" >&2
    if [ "$m" = small ]; then workers="1 2"; else workers=1; fi
    for w in $workers; do
      PATH="$PWD/$AC/bin:$PATH" in_session "$OUT/acumos-$m/cloud-forensics" "$PWD/$AC/bin/acumos_model_runner" \
         --host 127.0.0.1 --port 18105 --workers "$w" . 2>>"$OUT/acumos-$m/runner.log" >&2
      PID=$!
      wait_http http://127.0.0.1:18105/model/artifacts/metadata
      [ "$m" = small ] && check_answer "acumos-runner-w$w" http://127.0.0.1:18105/model/methods/classify "$OUT/acumos-body.json"
      for pass in $(seq 1 "$PASSES"); do
        if [ "$m" = small ]; then concs="1 8 64"; else concs=64; fi
        for c in $concs; do run "acumos-runner-w$w" "$m" "$c" http://127.0.0.1:18105/model/methods/classify "${ACUMOS[@]}"; done
      done
      [ "$m" = small ] && printf 'rss\tacumos-runner-w%s\t%s\n' "$w" "$(group_rss "$PID")" >> "$OUT/results.tsv"
      stop "$PID"
    done
  done
else
  log "no Python 3.9 found (set PY39): the Acumos runner is not measured"
fi
fi

python3 bench/serving/summarize.py "$OUT/results.tsv" | tee "$OUT/summary.md"
