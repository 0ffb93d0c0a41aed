#!/usr/bin/env bash
# Fault: the S3 store becomes unreachable in the middle of an upload. `caravan serve` stores
# blobs in SeaweedFS (scripts/services.sh) through bench/faults/cut_proxy.py, which resets
# every connection once CUT_MIB MiB of a SIZE_MIB MiB model's multipart upload have gone
# through, and refuses new ones. Records the push's answer and how long it took, then checks
# that nothing of it remains (no model, no staging file, no object, no unfinished upload left
# that the server could abort), restores the path, pushes again and downloads the model back.
# Results: bench/out/faults/s3-outage/summary.txt.
#
# usage: bench/faults/s3-outage.sh   (SIZE_MIB=256 CUT_MIB=64)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=${SIZE_MIB:-256}
CUT_MIB=${CUT_MIB:-64}
OUT=bench/out/faults/s3-outage
PORT=18420
PROXY_PORT=18421
URL=http://127.0.0.1:$PORT
rm -rf "$OUT" && mkdir -p "$OUT"
log() { printf '[s3-outage] %s\n' "$*" >&2; }

bash scripts/fetch-onnxruntime.sh >/dev/null
eval "$(bash scripts/services.sh)"
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}
PREFIX=fault-$$
S3="http://127.0.0.1:8333/$CARAVAN_TEST_S3_BUCKET"
count() { awk -v p="$1" '{n += gsub(p, "")} END {print n + 0}'; }
# Query parameters in sorted order, "/" escaped: what curl signs must be what the server checks.
s3() { curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$CARAVAN_TEST_S3_KEY:$CARAVAN_TEST_S3_SECRET" "$@"; }

python3 bench/make-large-model.py "$SIZE_MIB" "$OUT/model.onnx" >/dev/null
python3 bench/faults/cut_proxy.py $PROXY_PORT 8333 $((CUT_MIB << 20)) "$OUT/proxy.state" &
PROXY=$!
env CARAVAN__INFERENCE__ORT_LIBRARY="$PWD/.ort/lib/libonnxruntime.so" CARAVAN__DATA_DIR="$OUT/data" \
    CARAVAN__STORAGE__URL="s3://$CARAVAN_TEST_S3_BUCKET/$PREFIX" \
    CARAVAN__STORAGE__S3__ENDPOINT="http://127.0.0.1:$PROXY_PORT" CARAVAN__STORAGE__S3__ALLOW_HTTP=true \
    CARAVAN__STORAGE__S3__ACCESS_KEY_ID="$CARAVAN_TEST_S3_KEY" \
    CARAVAN__STORAGE__S3__SECRET_ACCESS_KEY="$CARAVAN_TEST_S3_SECRET" \
    CARAVAN__HTTP__BIND="127.0.0.1:$PORT" CARAVAN__LOG__LEVEL=warn CARAVAN_ADMIN_PASSWORD=bench-password \
    "$BIN/caravan" serve 2>>"$OUT/caravan.log" &
SERVER=$!
trap 'kill $SERVER $PROXY 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "$URL/v2/health/ready" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -sf "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')

push() {
  curl -s -o "$OUT/$1.body" -w '%{http_code}\t%{time_total}' "$URL/api/v1/models/big/versions" \
    -H "Authorization: Bearer $TOKEN" -F model=@"$OUT/model.onnx"
}
log "pushing $SIZE_MIB MiB; the path to S3 is cut after $CUT_MIB MiB"
first=$(push cut)
sleep 1
model_after_cut=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/models/big" -H "Authorization: Bearer $TOKEN")
staged=$(find "$OUT/data/staging" -type f ! -name '*.lock' | wc -l)
objects=$(s3 "$S3?list-type=2&prefix=$PREFIX%2F" | count '<Key>')
unfinished=$(s3 "$S3?prefix=$PREFIX%2F&uploads=" | count '<UploadId>')
log "restoring the path"
kill -USR2 $PROXY
second=$(push restored)
downloaded=$(curl -s "$URL/api/v1/models/big/versions/1/artifact" -H "Authorization: Bearer $TOKEN" | sha256sum | cut -d' ' -f1)
expected=$(sha256sum "$OUT/model.onnx" | cut -d' ' -f1)
{
  echo "push of $SIZE_MIB MiB with the S3 path cut after $CUT_MIB MiB ($(cat "$OUT/proxy.state")):"
  echo "  answer ${first%%$'\t'*} after ${first##*$'\t'} s: $(head -c 300 "$OUT/cut.body")"
  echo "  afterwards: GET the model -> $model_after_cut, staging files $staged, objects under the prefix $objects, unfinished multipart uploads $unfinished"
  echo "path restored: push answer ${second%%$'\t'*} after ${second##*$'\t'} s; download sha256 matches: $([ "$downloaded" = "$expected" ] && echo yes || echo NO)"
  echo "objects under the prefix now: $(s3 "$S3?list-type=2&prefix=$PREFIX%2F" | count '<Key>'), unfinished uploads: $(s3 "$S3?prefix=$PREFIX%2F&uploads=" | count '<UploadId>')"
} | tee "$OUT/summary.txt"
