#!/usr/bin/env bash
# promtool, Prometheus' linter, which the metrics test runs over /metrics. Taken out of Debian's
# prometheus package without installing it (no service, no user): the .deb is unpacked into
# .tools/prometheus and promtool is used from there. Idempotent; prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=.tools/prometheus
PROMTOOL=$DIR/usr/bin/promtool
if [ ! -x "$PROMTOOL" ]; then
  echo "== unpacking promtool from Debian's prometheus package into $DIR" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # The package lists may be missing or stale on a fresh machine; refresh them only then.
  if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update >/dev/null
    (cd "$work" && apt-get download prometheus >/dev/null)
  fi
  rm -rf "$DIR" && mkdir -p "$DIR"
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$DIR/usr/bin"
  cp "$work/root/usr/bin/promtool" "$PROMTOOL"
fi
"$PROMTOOL" --version >/dev/null
echo "$PWD/$PROMTOOL"
