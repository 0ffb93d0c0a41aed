#!/usr/bin/env bash
# Push and download of a large ONNX model on the embedded default (SQLite + local disk),
# against a release build: throughput each way, the server's peak RSS growth during each
# transfer, and the validator child's own peak RSS and time (reported separately).
#
# usage: bench/push-download.sh [SIZE_MIB=1024] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
RUNS=${2:-3}
OUT=bench/out/push-download
PORT=${PORT:-18080}
rm -rf "$OUT" && mkdir -p "$OUT"

bash scripts/fetch-onnxruntime.sh >/dev/null
# CARAVAN_BIN_DIR: a folder holding an already built release `caravan` (to measure a given
# build while the tree changes); otherwise this tree is built.
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
MODEL=$OUT/large.onnx
python3 bench/make-large-model.py "$SIZE_MIB" "$MODEL"
BYTES=$(stat -c %s "$MODEL")
SHA=$(sha256sum "$MODEL" | cut -d' ' -f1)

# The validator is wrapped in /usr/bin/time so its peak RSS and duration are recorded.
cat > "$OUT/validator.sh" <<WRAP
#!/bin/sh
exec /usr/bin/time -f "%e %M" -a -o "$PWD/$OUT/validator-times.txt" "$BIN" "\$@"
WRAP
chmod +x "$OUT/validator.sh"

CARAVAN_ADMIN_PASSWORD=bench-password \
CARAVAN__DATA_DIR="$OUT/data" \
CARAVAN__HTTP__BIND="127.0.0.1:$PORT" \
CARAVAN__ONBOARDING__VALIDATOR="$PWD/$OUT/validator.sh" \
CARAVAN__LOG__LEVEL=info \
  "$BIN" serve 2>"$OUT/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

URL=http://127.0.0.1:$PORT
JWT=$(curl -sf "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')

rss_kib() { awk "/^$1:/ {print \$2}" "/proc/$SERVER/status"; }
reset_peak() { echo 5 > "/proc/$SERVER/clear_refs"; }
mib() { echo $(( $1 / 1024 )); }
rate() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

echo "model: $BYTES bytes ($SIZE_MIB MiB), sha256 $SHA"
printf '| run | push s | push MB/s | push peak RSS growth MiB | download s | download MB/s | download peak RSS growth MiB | RSS after MiB |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for run in $(seq 1 "$RUNS"); do
  name="large-$run"
  # Each run pushes to a new model; identical bytes are stored once but validated each time.
  base=$(rss_kib VmRSS); reset_peak
  push=$(curl -s -o "$OUT/push-$run.json" -w '%{time_total} %{http_code}' \
    -H "Authorization: Bearer $JWT" -F "model=@$MODEL" "$URL/api/v1/models/$name/versions")
  push_peak=$(rss_kib VmHWM)
  read -r push_s push_code <<<"$push"
  [ "$push_code" = 201 ] || { echo "push failed: $push_code $(cat "$OUT/push-$run.json")" >&2; exit 1; }

  base2=$(rss_kib VmRSS); reset_peak
  dl=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' -H "Authorization: Bearer $JWT" \
    "$URL/api/v1/models/$name/versions/1/artifact")
  dl_peak=$(rss_kib VmHWM)
  read -r dl_s dl_bytes <<<"$dl"
  [ "$dl_bytes" = "$BYTES" ] || { echo "download returned $dl_bytes bytes" >&2; exit 1; }
  after=$(rss_kib VmRSS)
  printf '| %s | %.2f | %.0f | %s | %.2f | %.0f | %s | %s |\n' "$run" "$push_s" \
    "$(rate "$push_s")" "$(mib $((push_peak - base)))" \
    "$dl_s" "$(rate "$dl_s")" "$(mib $((dl_peak - base2)))" "$(mib "$after")"
done

echo
echo "validator child per push (seconds, peak RSS MiB):"
awk '{printf "  %.2f s, %d MiB\n", $1, $2/1024}' "$OUT/validator-times.txt"
got=$(curl -s -H "Authorization: Bearer $JWT" "$URL/api/v1/models/large-1/versions/1/artifact" | sha256sum | cut -d' ' -f1)
[ "$got" = "$SHA" ] && echo "downloaded bytes match: sha256 $got" || { echo "sha256 mismatch: $got" >&2; exit 1; }
echo "server RSS at the end: $(mib "$(rss_kib VmRSS)") MiB"
