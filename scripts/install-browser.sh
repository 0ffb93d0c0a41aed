#!/usr/bin/env bash
# Headless Chromium and its WebDriver, which the e2e tests drive (tests/support/browser.rs).
# Idempotent: does nothing when both are installed. Debian's packages keep the browser and the
# driver at matching versions, which chromedriver requires.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends chromium chromium-driver
}

echo "== installing chromium and chromium-driver"
# The package lists may be missing or stale on a fresh machine; refresh them only then, since
# an update is slow and usually unnecessary.
if ! install; then
  "${SUDO[@]}" apt-get update
  install
fi

for binary in "$CHROMIUM" "$CHROMEDRIVER"; do
  if [ ! -x "$binary" ]; then
    echo "$binary is still missing after installing chromium and chromium-driver" >&2
    exit 1
  fi
done
