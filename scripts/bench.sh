#!/usr/bin/env bash
# `make bench`: brings up the broker and PostgreSQL if needed, builds the bench (release) and
# runs it: ingest and projector throughput against raw Kafka/PostgreSQL baselines measured in
# the same run, and append → read freshness. Prints a summary and writes docs/BENCHMARKS.md.
# Extra arguments go to the bench, e.g. `bash scripts/bench.sh --events 50000`.
# Environment: LEADLEDGER_KAFKA (brokers), LEADLEDGER_BENCH_PG (PostgreSQL server URL),
# LEADLEDGER_BENCH_LOG (tracing filter, default warn), LEADLEDGER_BENCH_ATTRIBUTION_LEADS
# (leads of the attribution-at-scale run, default 1000000; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/broker.sh up
bash scripts/postgres.sh
export LEADLEDGER_KAFKA=${LEADLEDGER_KAFKA:-127.0.0.1:${LEADLEDGER_BROKER_PORT:-9092}}
export LEADLEDGER_BENCH_PG=${LEADLEDGER_BENCH_PG:-postgres://postgres@127.0.0.1:${PGPORT:-5432}}

echo "bench: building leadledger-bench and attribution-bench (release)"
cargo build --release -p leadledger-bench
target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
"${target:-target}/release/leadledger-bench" "$@"
# Precomputed attribution at scale (docs/BENCHMARKS-attribution.md); 0 skips it.
leads=${LEADLEDGER_BENCH_ATTRIBUTION_LEADS:-1000000}
if [ "$leads" != 0 ]; then
  "${target:-target}/release/attribution-bench" --leads "$leads"
fi
