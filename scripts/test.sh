#!/usr/bin/env bash
# `make test`: brings up the broker and PostgreSQL if needed, then runs every test of the
# workspace (unit, property, and end-to-end against the real services).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/broker.sh up
bash scripts/postgres.sh
export LEADLEDGER_KAFKA=${LEADLEDGER_KAFKA:-127.0.0.1:${LEADLEDGER_BROKER_PORT:-9092}}
export LEADLEDGER_TEST_PG=${LEADLEDGER_TEST_PG:-postgres://postgres@127.0.0.1:${PGPORT:-5432}}
# Each run has an id; its test databases are named ll_<id>_… (tests/src/lib.rs,
# database_name). The databases this checkout's previous run left behind (a failing test
# skips its cleanup) are dropped here, once that run has ended; never those of another run
# on the same server (a `make bench`, another checkout, CI beside a session).
mkdir -p target
run_file=target/.test-run
if [ -f "$run_file" ]; then
  read -r prev prev_pid <"$run_file" || true
  if [ -n "${prev:-}" ] && ! kill -0 "${prev_pid:-0}" 2>/dev/null; then
    for db in $(psql -Atq -h 127.0.0.1 -p "${PGPORT:-5432}" -U postgres -d postgres \
        -c "SELECT datname FROM pg_database WHERE datname LIKE 'll\\_${prev}\\_%'"); do
      psql -q -h 127.0.0.1 -p "${PGPORT:-5432}" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true
    done
  fi
fi
export LEADLEDGER_TEST_RUN="r$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
echo "$LEADLEDGER_TEST_RUN $$" >"$run_file"
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test: installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
# Python's confluent-kafka: the outside Kafka client that makes the SASL/SCRAM user of
# crates/cli/tests/kafka_sasl.rs through the Kafka API (scripts/kafka-scram-user.py).
if ! python3 -c "import confluent_kafka" 2>/dev/null; then
  echo "test: installing confluent-kafka (Python)"
  pip install -q "confluent-kafka==2.16.1" >/dev/null
fi
page="${CARGO_TARGET_DIR:-target}/tmp/report.html"
rm -f "$page"
cargo nextest run --workspace --no-fail-fast "$@"
# The report page the report test wrote, rendered by headless Chromium and checked for
# every chart (issue 17 item 7); a run filtered to other tests has none to check.
if [ $# -eq 0 ] || [ -f "$page" ]; then
  bash scripts/report-html-check.sh "$page"
fi
# A third-party client (grpcurl, reflection v1alpha) against the real binary.
cargo build -q -p leadledger
bash scripts/smoke-grpcurl.sh
# The metrics endpoint, linted by promtool and scraped by a real Prometheus server.
bash scripts/metrics-check.sh
