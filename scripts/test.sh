#!/usr/bin/env bash
# `make test`: brings up the broker and PostgreSQL if needed, then runs every test of the
# workspace (unit, property, and end-to-end against the real services).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/broker.sh up
bash scripts/postgres.sh
export LEADLEDGER_KAFKA=${LEADLEDGER_KAFKA:-127.0.0.1:${LEADLEDGER_BROKER_PORT:-9092}}
export LEADLEDGER_TEST_PG=${LEADLEDGER_TEST_PG:-postgres://postgres@127.0.0.1:${PGPORT:-5432}}
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test: installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
cargo nextest run --workspace --no-fail-fast "$@"
# A third-party client (grpcurl, reflection v1alpha) against the real binary.
cargo build -q -p leadledger
bash scripts/smoke-grpcurl.sh
