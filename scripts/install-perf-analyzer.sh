#!/usr/bin/env bash
# perf_analyzer for the tests that sweep Caravan with it: a venv keyed by
# tests/perf_analyzer/requirements.txt, libb64 unpacked from Debian's libb64-0d (not installed),
# and a wrapper that finds both libraries. Idempotent; prints the wrapper's path.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv/perf-analyzer
REQUIREMENTS=tests/perf_analyzer/requirements.txt
if ! cmp -s "$REQUIREMENTS" "$VENV/requirements.txt"; then
  echo "== installing $REQUIREMENTS into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
  cp "$REQUIREMENTS" "$VENV/requirements.txt"
fi

B64=.tools/libb64
if [ ! -e "$B64/usr/lib/x86_64-linux-gnu/libb64.so.0d" ]; then
  echo "== unpacking libb64 from Debian's libb64-0d into $B64" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && apt-get download libb64-0d >/dev/null 2>&1); then
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update >/dev/null
    (cd "$work" && apt-get download libb64-0d >/dev/null 2>&1)
  fi
  rm -rf "$B64" && mkdir -p "$B64"
  dpkg-deb -x "$work"/libb64-0d_*.deb "$B64"
fi

CUDART=$(echo "$PWD/$VENV"/lib/python3*/site-packages/nvidia/cuda_runtime/lib)
WRAPPER=.tools/perf_analyzer
cat >"$WRAPPER" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH="$PWD/$B64/usr/lib/x86_64-linux-gnu:$CUDART\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$PWD/$VENV/bin/perf_analyzer" "\$@"
WRAP
chmod +x "$WRAPPER"
"$WRAPPER" --version >/dev/null 2>&1
echo "$PWD/$WRAPPER"
