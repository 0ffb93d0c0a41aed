#!/usr/bin/env bash
# Fuzzes the parsers that read untrusted bytes (fuzz/fuzz_targets: V2 JSON and binary
# requests, multipart uploads, ONNX inspection, E5 wire types, signed manifests, pipeline
# specs, Acumos metadata, .proto, licenses, model.zip and model-runner messages, MLflow's MLmodel
# files, artifact paths and protobuf wire splitting) with cargo-fuzz (libFuzzer), SECONDS each. Seeds: fuzz/seeds/<target> and, for ONNX,
# every model in tests/fixtures; the growing corpus stays in fuzz/corpus (not committed).
# Prints and writes bench/out/fuzz/summary.tsv: target, seconds, executions, corpus size,
# result. A crash leaves its input in fuzz/artifacts/<target>/ and makes the script fail.
#
# usage: bench/fuzz.sh [SECONDS, default 600] [TARGET...]
# FUZZ_PROFILE=dev builds without optimisation (much faster to build, slower to run):
# scripts/test.sh runs it so, for 30 s per target.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
shift || true
ALL="v2_json v2_binary multipart onnx_inspect e5_wire manifest pipeline_spec acumos mlflow"
TARGETS=${*:-$ALL}
OUT=${FUZZ_OUT:-bench/out/fuzz}
mkdir -p "$OUT"
log() { printf '[fuzz] %s\n' "$*" >&2; }

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
# libFuzzer's instrumentation flags are unstable rustc options: the machine's one (stable)
# toolchain accepts them with RUSTC_BOOTSTRAP. No sanitizer: Rust's own checks (bounds,
# overflow with debug assertions, panics) are what a target asserts, and an ASan build of the
# whole tree would take far longer.
export RUSTC_BOOTSTRAP=1
FUZZ="cargo fuzz"
if [ "${FUZZ_PROFILE:-release}" = dev ]; then
  FLAGS=(--sanitizer none --dev)
else
  FLAGS=(--sanitizer none --release --debug-assertions)
fi
log "building the targets"
(cd fuzz && $FUZZ build "${FLAGS[@]}" >&2)

printf 'target\tseconds\texecutions\tcorpus\tresult\n' > "$OUT/summary.tsv"
failed=0
for target in $TARGETS; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  [ -d "fuzz/seeds/$target" ] && cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  if [ "$target" = onnx_inspect ]; then
    for model in tests/fixtures/*.onnx; do cp -n "$model" "$corpus/" 2>/dev/null || true; done
  fi
  log "$target for $SECONDS_EACH s"
  result=ok
  (cd fuzz && $FUZZ run "${FLAGS[@]}" "$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
      -print_final_stats=1) > "$OUT/$target.log" 2>&1 || { result=crash; failed=1; }
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$target.log" | grep -o '[0-9]*$' | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\n' "$target" "$SECONDS_EACH" "${executions:-?}" "$size" "$result" >> "$OUT/summary.tsv"
  [ "$result" = ok ] || { log "$target crashed:"; tail -40 "$OUT/$target.log" >&2; }
done
column -t -s $'\t' "$OUT/summary.tsv" >&2
exit $failed
