#!/usr/bin/env bash
# Three release replicas of `caravan serve` on loopback over one PostgreSQL database and one S3
# bucket (SeaweedFS), behind haproxy with active health checks on /readyz. Measures, in one run:
#   1. V2 JSON req/s at c=64 through the balancer, next to one replica direct;
#   2. a rolling restart of all three (SIGTERM, drain, start, wait until haproxy has it back)
#      under c=64 load through the balancer: failed requests;
#   3. alias propagation: MOVES moves through replica 1, each timed until replicas 2 and 3
#      serve the new version (p50/p99);
#   4. PostgreSQL restarted under load through the balancer: failed requests, what they
#      answered, and the time to full recovery;
#   5. one replica killed with SIGKILL (and started again) while a client pushes PUSHES distinct
#      models through the balancer, retrying each until it is answered 2xx, under c=16 load:
#      failed requests, and whether every model has exactly one version afterwards.
# Results: bench/out/scale-out/summary.txt.
#
# usage: bench/scale-out.sh   (DURATION=10s MOVES=100; CARAVAN_BIN_DIR=target/release skips the
#        build; needs root for pg_ctlcluster, and haproxy and wrk from apt)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
export MOVES=${MOVES:-100}
OUT=bench/out/scale-out
rm -rf "$OUT" && mkdir -p "$OUT"
log() { printf '[scale-out] %s\n' "$*" >&2; }

bash scripts/fetch-onnxruntime.sh >/dev/null
eval "$(bash scripts/services.sh)"
for tool in wrk haproxy; do
  command -v $tool >/dev/null || { log "$tool is needed: apt-get install -y $tool"; exit 1; }
done
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
CLUSTER=$(ls /etc/postgresql | sort -n | tail -1)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

DB=caravan_scale_$$
ADMIN_URL=postgres://caravan:caravan@127.0.0.1:5432/caravan
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB"
export CARAVAN__DATABASE__URL=postgres://caravan:caravan@127.0.0.1:5432/$DB
# What the replicas share: the database, one bucket prefix, the session key, the first admin.
export CARAVAN__STORAGE__URL=s3://$CARAVAN_TEST_S3_BUCKET/scale-out-$$
export CARAVAN__STORAGE__S3__ENDPOINT=$CARAVAN_TEST_S3_ENDPOINT CARAVAN__STORAGE__S3__ALLOW_HTTP=true
export CARAVAN__STORAGE__S3__ACCESS_KEY_ID=$CARAVAN_TEST_S3_KEY
export CARAVAN__STORAGE__S3__SECRET_ACCESS_KEY=$CARAVAN_TEST_S3_SECRET
export CARAVAN__AUTH__JWT_SECRET=scale-out-bench-session-key-0123456789abcdef
export CARAVAN_ADMIN_PASSWORD=bench-password
export CARAVAN__INFERENCE__ORT_LIBRARY=$PWD/.ort/lib/libonnxruntime.so CARAVAN__LOG__LEVEL=warn
# haproxy checks every 500 ms and takes a replica out after 2 failures: 2 s of draining covers it.
export CARAVAN__HTTP__DRAIN_SECS=${DRAIN_SECS:-2}

PORTS=($(free_port) $(free_port) $(free_port))
PIDS=(0 0 0)
start_replica() {
  local i=$1
  CARAVAN__DATA_DIR="$OUT/replica-$i" CARAVAN__HTTP__BIND=127.0.0.1:${PORTS[$i]} \
    "$BIN" serve 2>>"$OUT/replica-$i.log" &
  PIDS[$i]=$!
  until curl -sf -o /dev/null "http://127.0.0.1:${PORTS[$i]}/readyz"; do sleep 0.05; done
}
LB_PORT=$(free_port)
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  [ -f "$OUT/haproxy.pid" ] && kill "$(cat "$OUT/haproxy.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
}
trap cleanup EXIT
for i in 0 1 2; do start_replica $i; done

cat > "$OUT/haproxy.cfg" <<CFG
global
  maxconn 4096
  stats socket $PWD/$OUT/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
frontend caravan
  bind 127.0.0.1:$LB_PORT
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk
  http-check send meth GET uri /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
  server r0 127.0.0.1:${PORTS[0]} check
  server r1 127.0.0.1:${PORTS[1]} check
  server r2 127.0.0.1:${PORTS[2]} check
CFG
haproxy -f "$OUT/haproxy.cfg" -D -p "$OUT/haproxy.pid"
LB=http://127.0.0.1:$LB_PORT
# backend_up NAME: whether haproxy counts the server UP.
backend_up() {
  echo "show stat" | socat stdio "unix-connect:$OUT/haproxy.sock" | awk -F, -v s="$1" '$1 == "replicas" && $2 == s {print $18}' | grep -q '^UP'
}
for s in r0 r1 r2; do until backend_up $s; do sleep 0.1; done; done

TOKEN=$(curl -sf "$LB/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | jq -r .token)
for file in tests/fixtures/affine.onnx tests/fixtures/affine_v2.onnx; do
  curl -sf -o /dev/null "$LB/api/v1/models/affine/versions" -H "Authorization: Bearer $TOKEN" -F model=@"$file"
done
curl -sf -o /dev/null -X PUT "$LB/api/v1/models/affine/aliases/champion" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"version":1}'
echo '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}' > "$OUT/body.json"
INFER=/v2/models/affine/versions/champion/infer

# wrk_summary FILE: req/s, p50, p99, non-2xx, socket errors.
wrk_summary() {
  awk '/Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} /Non-2xx/ {bad = $NF}
       /Socket errors/ {gsub(",", ""); sock = $4 + $6 + $8 + $10}
       /requests in/ {n = $1}
       END {printf "%s requests, %s req/s, p50 %s, p99 %s, non-2xx %d, socket errors %d", n, rps, p50, p99, bad, sock}' "$1"
}
load() { # load SECONDS URL FILE [CONNECTIONS]
  BODY="$OUT/body.json" TOKEN="$TOKEN" wrk -t2 -c"${4:-64}" -d"$1" --latency -s bench/serving/post.lua "$2" > "$3"
}

log "1: throughput through the balancer and direct"
for pass in 1 2; do
  load "$DURATION" "http://127.0.0.1:${PORTS[0]}$INFER" "$OUT/wrk-direct-$pass.txt"
  load "$DURATION" "$LB$INFER" "$OUT/wrk-balancer-$pass.txt"
done

log "2: rolling restart under load"
load 60s "$LB$INFER" "$OUT/wrk-rolling.txt" &
WRK=$!
sleep 3
: > "$OUT/rolling.txt"
for i in 0 1 2; do
  t0=$(now)
  kill -TERM "${PIDS[$i]}"
  wait "${PIDS[$i]}" || true
  stopped=$(echo "$(now) - $t0" | bc)
  start_replica $i
  until backend_up r$i; do sleep 0.05; done
  printf 'replica %d: stopped %.2f s after SIGTERM, back in the balancer %.2f s after SIGTERM\n' \
    "$i" "$stopped" "$(echo "$(now) - $t0" | bc)" >> "$OUT/rolling.txt"
done
wait $WRK

log "3: alias propagation"
python3 bench/scale_out.py moves "$TOKEN" "http://127.0.0.1:${PORTS[0]}" \
  "http://127.0.0.1:${PORTS[1]}" "http://127.0.0.1:${PORTS[2]}" > "$OUT/moves.txt"

log "4: PostgreSQL restarted under load"
load 30s "$LB$INFER" "$OUT/wrk-pg.txt" 16 &
WRK=$!
TOKEN=$TOKEN python3 bench/scale_out.py probe "$LB/v2/models/affine/infer" 30 "$OUT/probe-pg.txt" &
PROBE=$!
sleep 8
fault=$(now)
pg_ctlcluster --skip-systemctl-redirect "$CLUSTER" main stop -m fast
sleep 5
pg_ctlcluster --skip-systemctl-redirect "$CLUSTER" main start
back=$(echo "$(now) - $fault" | bc)
wait $WRK $PROBE
python3 bench/scale_out.py outage "$OUT/probe-pg.txt" "$fault" > "$OUT/pg.txt"
for s in r0 r1 r2; do until backend_up $s; do sleep 0.1; done; done

log "5: SIGKILL of a replica while pushes and inference go through the balancer"
PUSHES=${PUSHES:-40}
python3 bench/make-large-model.py --many "$PUSHES" "$OUT/models" >/dev/null
load 20s "$LB$INFER" "$OUT/wrk-kill.txt" 16 &
WRK=$!
( for model in "$OUT"/models/*.onnx; do
    name=pushed-$(basename "$model" .onnx | tr -c 'a-z0-9\n' '-')
    for attempt in $(seq 1 20); do
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$LB/api/v1/models/$name/versions" \
        -H "Authorization: Bearer $TOKEN" -F model=@"$model" || true)
      echo "$name $attempt $code" >> "$OUT/pushes.txt"
      case $code in 2*) break ;; esac
      sleep 0.2
    done
  done ) &
PUSHER=$!
sleep 4
kill -KILL "${PIDS[1]}"
wait "${PIDS[1]}" 2>/dev/null || true
killed_at=$(now)
start_replica 1
until backend_up r1; do sleep 0.05; done
back_in=$(echo "$(now) - $killed_at" | bc)
wait $WRK $PUSHER
pushed_models=$(psql -qtA "$CARAVAN__DATABASE__URL" -c "SELECT count(DISTINCT m.id) FROM models m WHERE m.name LIKE 'pushed-%'")
pushed_versions=$(psql -qtA "$CARAVAN__DATABASE__URL" -c "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name LIKE 'pushed-%'")
retried=$(awk '$2 > 1' "$OUT/pushes.txt" | wc -l)
unanswered=$(awk '{last[$1] = $3} END {n = 0; for (m in last) if (last[m] !~ /^2/) n++; print n}' "$OUT/pushes.txt")

{
  echo "three replicas behind haproxy 2.6 (checks /readyz every 500 ms, fall 2 rise 2), PostgreSQL $CLUSTER, SeaweedFS S3"
  for pass in 1 2; do
    echo "pass $pass, one replica direct, c=64: $(wrk_summary "$OUT/wrk-direct-$pass.txt")"
    echo "pass $pass, through the balancer, c=64: $(wrk_summary "$OUT/wrk-balancer-$pass.txt")"
  done
  echo "rolling restart of all three under c=64 for 60 s: $(wrk_summary "$OUT/wrk-rolling.txt")"
  sed 's/^/  /' "$OUT/rolling.txt"
  cat "$OUT/moves.txt"
  echo "PostgreSQL stopped for 5 s (back $back s after the stop) under c=16 for 30 s: $(wrk_summary "$OUT/wrk-pg.txt")"
  sed 's/^/  /' "$OUT/pg.txt"
  echo "SIGKILL of replica 1 under c=16 for 20 s (back in the balancer $back_in s after the kill): $(wrk_summary "$OUT/wrk-kill.txt")"
  echo "  pushes through the balancer: $PUSHES models, $retried retried attempts, $unanswered never answered 2xx; catalog: $pushed_models models, $pushed_versions versions"
  echo "  push answers: $(awk '{print $3}' "$OUT/pushes.txt" | sort | uniq -c | awk '{printf "%s x%s  ", $2, $1}')"
  echo "replicas alive after: $(for p in "${PORTS[@]}"; do curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$p/readyz"; done)"
} | tee "$OUT/summary.txt"
