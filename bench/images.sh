#!/usr/bin/env bash
# Builds and runs the images for real with podman (no Docker engine here): Caravan's platform
# image from deploy/Dockerfile, then a runner image from a docker bundle the running platform
# generates, and checks /readyz, a push and an infer on the platform container and an infer on
# the runner container (read-only root, as the bundles run it). The base image is made
# locally with debootstrap from the Debian mirror; the binary is the release build
# (`--build-arg BINARY=prebuilt`: no Rust image can be pulled here).
# Results: bench/out/images/summary.txt.
#
# usage: bench/images.sh   (CARAVAN_BIN_DIR=target/release skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/bench/out/images
mkdir -p "$OUT"
log() { printf '[images] %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bash scripts/fetch-onnxruntime.sh >/dev/null
if [ -z "${CARAVAN_BIN_DIR:-}" ]; then cargo build --release --locked -p caravan >&2; fi
[ "${CARAVAN_BIN_DIR:-target/release}" = target/release ] || {
  mkdir -p target/release && cp "$CARAVAN_BIN_DIR/caravan" target/release/caravan; }
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  log "installing podman, buildah, runc, debootstrap"
  apt-get install -y podman buildah runc debootstrap fuse-overlayfs slirp4netns uidmap >/dev/null
fi

# The two settings these machines need (no CAP_SYS_RESOURCE, hybrid cgroups), and stores
# under bench/out so nothing outside it changes.
cat > "$OUT/containers.conf" <<CONF
[containers]
netns = "host"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
cat > "$OUT/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$OUT/storage"
runroot = "$OUT/run"
CONF
export CONTAINERS_CONF=$OUT/containers.conf CONTAINERS_STORAGE_CONF=$OUT/storage.conf
CONTAINERS=()
trap 'podman rm -f "${CONTAINERS[@]}" >/dev/null 2>&1 || true' EXIT

BASE=localhost/debian:bookworm-slim
if ! podman image exists "$BASE"; then
  log "making $BASE with debootstrap"
  start=$(now)
  rm -rf "$OUT/rootfs"
  debootstrap --variant=minbase bookworm "$OUT/rootfs" http://deb.debian.org/debian >/dev/null
  rm -rf "$OUT/rootfs/var/cache/apt/archives/"*.deb "$OUT/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$OUT/rootfs" -cf "$OUT/rootfs.tar" .
  podman import --change 'CMD ["/bin/bash"]' "$OUT/rootfs.tar" "$BASE" >/dev/null
  rm -rf "$OUT/rootfs" "$OUT/rootfs.tar"
  echo "base image (debootstrap): $(since "$start") s" >> "$OUT/summary.txt"
fi

log "building localhost/caravan:0.1.0 from deploy/Dockerfile"
start=$(now)
podman build -q -f deploy/Dockerfile --build-arg BINARY=prebuilt \
  --build-arg RUNTIME_IMAGE="$BASE" --build-arg RUST_IMAGE="$BASE" \
  -t localhost/caravan:0.1.0 . >/dev/null
echo "platform image build: $(since "$start") s, $(podman image inspect localhost/caravan:0.1.0 --format '{{.Size}}' | awk '{printf "%d MiB", $1/1048576}')" >> "$OUT/summary.txt"

port=$(free_port); URL=http://127.0.0.1:$port
start=$(now)
CONTAINERS+=("$(podman run -d --network host -e CARAVAN__HTTP__BIND=127.0.0.1:$port \
  -e CARAVAN_ADMIN_PASSWORD=images-password localhost/caravan:0.1.0)")
for _ in $(seq 1 300); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$URL/readyz" >/dev/null || { podman logs "${CONTAINERS[0]}" >&2; exit 1; }
echo "platform container: ready $(since "$start") s after podman run" >> "$OUT/summary.txt"
TOKEN=$(curl -sf "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"images-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -F model=@tests/fixtures/affine.onnx "$URL/api/v1/models/fraud/versions"
REQUEST='{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}'
infer() { curl -sf -H 'content-type: application/json' "$@" -d "$REQUEST"; }
platform=$(infer -H "Authorization: Bearer $TOKEN" "$URL/v2/models/fraud/infer")
echo "platform container: push ok, infer -> $platform" >> "$OUT/summary.txt"

log "building the runner image from the platform's docker bundle"
rm -rf "$OUT/bundle" && mkdir -p "$OUT/bundle"
curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/models/fraud/versions/1/deployment?target=docker" | tar xz -C "$OUT/bundle"
bundle=$(echo "$OUT"/bundle/*)
curl -sf -H "Authorization: Bearer $TOKEN" -o "$bundle/model.onnx" "$URL/api/v1/models/fraud/versions/1/artifact"
start=$(now)
podman build -q --build-arg CARAVAN_IMAGE=localhost/caravan:0.1.0 -t localhost/caravan-runner-fraud:v1 "$bundle" >/dev/null
echo "runner image build from the bundle: $(since "$start") s" >> "$OUT/summary.txt"
# A file that is not the version must not build (the Dockerfile checks the sha256).
cp tests/fixtures/affine_v2.onnx "$bundle/model.onnx"
if podman build -q --build-arg CARAVAN_IMAGE=localhost/caravan:0.1.0 -t localhost/caravan-runner-wrong "$bundle" >/dev/null 2>&1; then
  echo "a bundle built with another model file" >&2; exit 1
fi
echo "runner image from the bundle with another model.onnx: refused by the sha256 check" >> "$OUT/summary.txt"

rport=$(free_port)
start=$(now)
CONTAINERS+=("$(podman run -d --network host --read-only --tmpfs /tmp \
  -e CARAVAN_RUNNER_BIND=127.0.0.1:$rport localhost/caravan-runner-fraud:v1)")
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$rport/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$rport/readyz" >/dev/null || { podman logs "${CONTAINERS[1]}" >&2; exit 1; }
echo "runner container (read-only root): ready $(since "$start") s after podman run" >> "$OUT/summary.txt"
runner=$(infer "http://127.0.0.1:$rport/v2/models/fraud/infer")
echo "runner container: infer -> $runner" >> "$OUT/summary.txt"
[ "$(echo "$runner" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"][0]["data"])')" = \
  "$(echo "$platform" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"][0]["data"])')" ] \
  || { echo "the runner and the platform disagree" >&2; exit 1; }
echo "runner and platform answer the same outputs" >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
