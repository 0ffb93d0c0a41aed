#!/usr/bin/env bash
# Put libonnxruntime.so (from the PyPI onnxruntime wheel) into ./.ort/lib. Idempotent.
# Caravan loads it at run time (ort `load-dynamic`); nothing is linked at build time.
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.31.1}"
DEST="${1:-$(cd "$(dirname "$0")/.." && pwd)/.ort}"
LIB="$DEST/lib/libonnxruntime.so.$ORT_VERSION"
if [ -f "$LIB" ] && [ -L "$DEST/lib/libonnxruntime.so" ]; then
  echo "$LIB already present"
  exit 0
fi
mkdir -p "$DEST/wheel" "$DEST/lib"
python3 -m pip download --quiet --no-deps --only-binary=:all: "onnxruntime==$ORT_VERSION" -d "$DEST/wheel"
python3 - "$DEST" "$ORT_VERSION" <<'PY'
import glob, os, sys, zipfile
dest, ver = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(dest, "wheel", f"onnxruntime-{ver}-*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.startswith("onnxruntime/capi/libonnxruntime"):
            out = os.path.join(dest, "lib", os.path.basename(name))
            with z.open(name) as src, open(out + ".part", "wb") as dst:
                dst.write(src.read())
            os.chmod(out + ".part", 0o755)
            os.replace(out + ".part", out)
PY
ln -sf "libonnxruntime.so.$ORT_VERSION" "$DEST/lib/libonnxruntime.so"
ln -sf "libonnxruntime.so.$ORT_VERSION" "$DEST/lib/libonnxruntime.so.1"
rm -rf "$DEST/wheel"
echo "ONNX Runtime $ORT_VERSION installed in $DEST/lib"
