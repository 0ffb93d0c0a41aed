#!/usr/bin/env bash
# The whole test suite, as CI runs it: ONNX Runtime, headless Chromium, PostgreSQL and SeaweedFS
# (S3) set up idempotently, then formatting, lints, every test on SQLite and PostgreSQL, and a
# short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch-onnxruntime.sh
bash scripts/install-browser.sh
eval "$(bash scripts/services.sh)"
# Prometheus' linter for the /metrics test.
export CARAVAN_TEST_PROMTOOL
CARAVAN_TEST_PROMTOOL=$(bash scripts/install-promtool.sh)
# perf_analyzer (tritonclient 2.51.0) for the sweep test.
export CARAVAN_TEST_PERF_ANALYZER
CARAVAN_TEST_PERF_ANALYZER=$(bash scripts/install-perf-analyzer.sh)

# Python clients the serving tests drive (tritonclient), in a venv keyed by its requirements.
VENV=.venv/tests
if ! cmp -s tests/requirements.txt "$VENV/requirements.txt"; then
  echo "== installing tests/requirements.txt into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt "$VENV/requirements.txt"
fi
export CARAVAN_TEST_PYTHON=$PWD/$VENV/bin/python

# The Acumos Python client (acumos 1.0.1 installs only on Python < 3.10), with protoc from
# grpcio-tools, for the tests that push with it; keyed by its requirements like the above.
ACUMOS_VENV=.venv/acumos
if ! cmp -s tests/acumos/requirements.txt "$ACUMOS_VENV/requirements.txt"; then
  echo "== installing tests/acumos/requirements.txt into $ACUMOS_VENV (Python 3.9)"
  PY39=${CARAVAN_PYTHON39:-$(pyenv root 2>/dev/null)/versions/3.9.18/bin/python3.9}
  rm -rf "$ACUMOS_VENV"
  "$PY39" -m venv "$ACUMOS_VENV"
  "$ACUMOS_VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/acumos/requirements.txt
  cp tests/acumos/requirements.txt "$ACUMOS_VENV/requirements.txt"
fi
cp bench/serving/acumos/protoc "$ACUMOS_VENV/bin/protoc"
export CARAVAN_TEST_ACUMOS_PYTHON=$PWD/$ACUMOS_VENV/bin/python

# The OpenAPI validator and client generator, keyed by their requirements like the above.
OPENAPI_VENV=.venv/openapi
if ! cmp -s tests/openapi/requirements.txt "$OPENAPI_VENV/requirements.txt"; then
  echo "== installing tests/openapi/requirements.txt into $OPENAPI_VENV"
  rm -rf "$OPENAPI_VENV"
  python3 -m venv "$OPENAPI_VENV"
  "$OPENAPI_VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/openapi/requirements.txt
  cp tests/openapi/requirements.txt "$OPENAPI_VENV/requirements.txt"
fi
export CARAVAN_TEST_OPENAPI_PYTHON=$PWD/$OPENAPI_VENV/bin/python

# The MLflow clients, one venv per major version, each keyed by its requirements.
for MAJOR in 3 2; do
  MLFLOW_VENV=.venv/mlflow-$MAJOR
  if ! cmp -s "tests/mlflow/requirements-$MAJOR.txt" "$MLFLOW_VENV/requirements.txt"; then
    echo "== installing tests/mlflow/requirements-$MAJOR.txt into $MLFLOW_VENV"
    rm -rf "$MLFLOW_VENV"
    python3 -m venv "$MLFLOW_VENV"
    "$MLFLOW_VENV/bin/pip" install --quiet --disable-pip-version-check -r "tests/mlflow/requirements-$MAJOR.txt"
    cp "tests/mlflow/requirements-$MAJOR.txt" "$MLFLOW_VENV/requirements.txt"
  fi
  export "CARAVAN_TEST_MLFLOW${MAJOR}_PYTHON=$PWD/$MLFLOW_VENV/bin/python"
done

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== one TLS crypto provider (aws-lc-rs); ring must not be in the tree"
if cargo tree --workspace -i ring 2>/dev/null | grep -q ring; then
  echo "ring is in the dependency tree:" >&2
  cargo tree --workspace -i ring >&2
  exit 1
fi

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== no unused dependencies (cargo machete)"
MACHETE_VERSION=0.9.1
if ! cargo machete --version 2>/dev/null | grep -qx "$MACHETE_VERSION"; then
  cargo install --locked --quiet cargo-machete --version "$MACHETE_VERSION"
fi
cargo machete

echo "== tests (SQLite and PostgreSQL, local disk and S3)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

# deploy/ and every generated deployment bundle, through hadolint, compose, helm,
# kubernetes-validate and the KServe CRD's schema (tools cached in .venv/deploy).
echo "== deploy/ and deployment bundles"
bash scripts/check-deploy.sh

# Every fuzz target briefly (a dev build of its own workspace, about 10 minutes on 2 cores, then
# 30 s each), so a parser that starts crashing on its seeds or near them fails CI; the long runs
# are `bench/fuzz.sh` (results in BENCHMARKS.md).
echo "== fuzz targets, 30 s each"
FUZZ_PROFILE=dev bash bench/fuzz.sh 30
