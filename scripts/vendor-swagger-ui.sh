#!/usr/bin/env bash
# Refreshes the Swagger UI files the API docs page serves (web/vendor/swagger-ui), from npm's
# swagger-ui-dist at the pinned version, checked against its pinned SHA-256. The files are
# committed: the build and the server never fetch anything.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=5.36.0
SHA256=685a2b38b5d6eab2dbc096a8596db11cc7409cdb671d2e3bec8f9b017d0d566b
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "swagger-ui-dist@$VERSION" --silent >/dev/null)
echo "$SHA256  $work/swagger-ui-dist-$VERSION.tgz" | sha256sum -c --quiet
tar -xzf "$work/swagger-ui-dist-$VERSION.tgz" -C "$work"
DEST=web/vendor/swagger-ui
mkdir -p "$DEST"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "$work/package/$file" "$DEST/$file"
done
# The stylesheet names its source map, which is not shipped.
sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' "$DEST/swagger-ui.css"
echo "$VERSION" > "$DEST/VERSION"
