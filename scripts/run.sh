#!/usr/bin/env bash
# `make run`: broker and database up (installed/started if needed), the service in one
# process (`serve --role all`), a simulated quarter streamed to it, then the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/broker.sh up
bash scripts/postgres.sh

# Tansu's SQLite engine slows every fetch as Kafka header rows pile up: leadledger does not
# need headers to read its own log, so they are off against the dev broker.
export LEADLEDGER_KAFKA_HEADERS=${LEADLEDGER_KAFKA_HEADERS:-false}
export LEADLEDGER_SERVER_LISTEN=${LEADLEDGER_SERVER_LISTEN:-127.0.0.1:50051}
# Each run is a fresh demo: its own topic and a recreated database, so the report is exactly
# the simulated quarter (set LEADLEDGER_KAFKA_TOPIC / LEADLEDGER_DATABASE_URL to keep state).
export LEADLEDGER_KAFKA_TOPIC=${LEADLEDGER_KAFKA_TOPIC:-leadledger.run$(date +%s).events}
if [ -z "${LEADLEDGER_DATABASE_URL:-}" ]; then
  export LEADLEDGER_DATABASE_URL=postgres://postgres@127.0.0.1:${PGPORT:-5432}/leadledger_run
  PGOPTIONS="--client-min-messages=warning" psql -q -h 127.0.0.1 -p "${PGPORT:-5432}" -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS leadledger_run WITH (FORCE)" >/dev/null
fi
SEED=${SEED:-42}
LEADS=${LEADS:-5000}

echo "run: building leadledger (release)"
cargo build --release -p leadledger
bin=target/release/leadledger
state=$(mktemp -d)
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$state"' EXIT

# Every call needs an API key (auth.mode = keys): one for the demo tenant, shown once and
# kept in this run's state directory (`leadledger keys list` shows it without its secret).
"$bin" keys create --tenant demo --scopes ingest,query,command --name "make run" --quiet \
  >"$state/api-key" 2>>"$state/serve.log"
export LEADLEDGER_API_KEY_FILE="$state/api-key"
echo "run: API key for tenant demo created (llk_$(cut -c5-16 "$state/api-key")…)"

"$bin" serve --role all >>"$state/serve.log" 2>&1 &
server=$!
port=${LEADLEDGER_SERVER_LISTEN##*:}
for _ in $(seq 1 600); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "run: the server exited:" >&2; cat "$state/serve.log" >&2; exit 1; fi
  sleep 0.1
done
echo "run: leadledger serving on $LEADLEDGER_SERVER_LISTEN (log: $state/serve.log)"

"$bin" simulate --seed "$SEED" --leads "$LEADS" --token-out "$state/token" \
  --as-of-out "$state/as_of" >/dev/null
echo
# SLA clocks are evaluated at the end of the simulated quarter, not at today's date.
page="$PWD/target/report.html"
# --what-if: the live defaults beside a candidate that counts the follow-up in elapsed hours.
"$bin" report --attribution --sla --as-of "$(cat "$state/as_of")" --token-file "$state/token" \
  --what-if docs/examples/policies-follow-up-elapsed.toml --html "$page"
echo
echo "run: the report as a page with charts (self-contained, open it in any browser): $page"
