#!/usr/bin/env bash
# Fault: SIGKILL in the middle of a federation sync. A publishes MODELS public models; B
# subscribes, and once KILL_AFTER of them are on B the instance named by KILL (b, the
# subscriber, or a, the publisher) is killed with SIGKILL and started again on the same data.
# Records how long the sync took to resume and to finish, then checks B against A and against
# B's own store: every version of A is on B exactly once with A's sha256, every version row has
# its blob and every blob a row, no reservation or staging file is left, and what the
# subscription says about itself.
# Results: bench/out/faults/sync-kill-$KILL/summary.txt.
#
# usage: bench/faults/sync-kill.sh   (KILL=b|a MODELS=300 KILL_AFTER=100 BACKEND=sqlite|postgres
#        LEASE_SECS=60; CARAVAN_BIN_DIR=target/debug skips the release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
KILL=${KILL:-b}
MODELS=${MODELS:-300}
KILL_AFTER=${KILL_AFTER:-100}
BACKEND=${BACKEND:-sqlite}
LEASE_SECS=${LEASE_SECS:-60}
OUT=bench/out/faults/sync-kill-$KILL
rm -rf "$OUT" && mkdir -p "$OUT"
log() { printf '[sync-kill] %s\n' "$*" >&2; }

bash scripts/fetch-onnxruntime.sh >/dev/null
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
BIN=${CARAVAN_BIN_DIR:-$PWD/target/release}/caravan
python3 bench/make-large-model.py --many "$MODELS" "$OUT/models" >/dev/null
EXTRA_TOML="lease_secs = $LEASE_SECS"
source bench/federation-pair.sh
configure a; launch a
configure b; launch b
TOKEN[a]=$(token "${URL[a]}"); TOKEN[b]=$(token "${URL[b]}")
pair a b; pair b a
log "pushing $MODELS models to a"
push_models a "$OUT/models" "$MODELS"

now() { date +%s.%N; }
since() { printf '%.2f' "$(echo "$(now) - $1" | bc)"; }
on_b() { sql b "SELECT count(*) FROM version_provenance"; }
subscription() {
  curl -sf "${URL[b]}/api/v1/subscriptions" -H "Authorization: Bearer ${TOKEN[b]}" | jq -c '.items[0]'
}

t0=$(now)
curl -sf -o /dev/null "${URL[b]}/api/v1/subscriptions" -H "Authorization: Bearer ${TOKEN[b]}" \
  -H 'Content-Type: application/json' \
  -d '{"peer":"a","catalog_id":"public","interval_secs":3600,"visibility":"organization"}'
until [ "$(on_b)" -ge "$KILL_AFTER" ]; do sleep 0.05; done
kill -KILL "${PID[$KILL]}"
wait "${PID[$KILL]}" 2>/dev/null || true
killed_at=$(since "$t0")
at_kill=$(on_b)
left_by_kill=$(find "$OUT/b/staging" -type f ! -name '*.lock' | wc -l)
log "killed $KILL at ${killed_at}s with $at_kill of $MODELS versions on b"

restarted=$(now)
launch "$KILL"
ready_s=$(since "$restarted")
until [ "$(on_b)" -gt "$at_kill" ]; do sleep 0.1; done
resumed_s=$(since "$restarted")
until [ "$(subscription | jq -r .last_success_at)" != null ]; do sleep 0.2; done
finished_s=$(since "$restarted")
state=$(subscription)
log "resumed ${resumed_s}s and finished ${finished_s}s after the restart"

# B against A: the same versions, by name and sha256, each once.
sql a "SELECT m.name, v.sha256 FROM versions v JOIN models m ON m.id = v.model_id" | sort > "$OUT/a.tsv"
sql b "SELECT m.name, v.sha256 FROM versions v JOIN models m ON m.id = v.model_id" \
  | sed 's/^a://' | sort > "$OUT/b.tsv"
missing=$(comm -23 "$OUT/a.tsv" "$OUT/b.tsv" | grep -c . || true)
unexpected=$(comm -13 "$OUT/a.tsv" "$OUT/b.tsv" | grep -c . || true)
duplicates=$(sql b "SELECT count(*) - count(DISTINCT remote_revision_id) FROM version_provenance")
# B's catalog against B's store: blobs/sha256/ab/cdef... holds the blob whose SHA-256 is abcdef...
cut -f2 "$OUT/b.tsv" | sort -u > "$OUT/b-rows.txt"
find "$OUT/b/objects/blobs/sha256" -type f | awk -F/ '{print $(NF-1) $NF}' | sort -u > "$OUT/b-blobs.txt"
rows_without_blob=$(comm -23 "$OUT/b-rows.txt" "$OUT/b-blobs.txt" | grep -c . || true)
blobs_without_row=$(comm -13 "$OUT/b-rows.txt" "$OUT/b-blobs.txt" | grep -c . || true)
reserved=$(sql b "SELECT count(*) FROM blobs WHERE pending > 0")
unreferenced=$(sql b "SELECT count(*) FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.sha256 = b.sha256)")
staged=$(find "$OUT/b/staging" -type f ! -name '*.lock' | wc -l)
{
  echo "backend=$BACKEND models=$MODELS killed=$KILL (SIGKILL) lease_secs=$LEASE_SECS"
  echo "killed at ${killed_at}s into the first sync, with $at_kill of $MODELS versions on b; staging files then: $left_by_kill"
  echo "after the restart: ready ${ready_s}s, next version imported ${resumed_s}s, sync finished ${finished_s}s"
  echo "b against a: missing $missing, unexpected $unexpected, imported twice $duplicates"
  echo "b's catalog against its store: version rows without a blob $rows_without_blob, blobs without a row $blobs_without_row"
  echo "  blob rows still reserved $reserved, blob rows no version references $unreferenced, staging files left $staged"
  echo "subscription: $(jq -c '{imported, failures, last_error}' <<<"$state")"
} | tee "$OUT/summary.txt"
