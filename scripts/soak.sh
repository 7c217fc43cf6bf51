#!/usr/bin/env bash
# `make soak`: issue 5's soak. Brings up the broker and PostgreSQL if needed, builds the
# release binaries, starts each role as its own process (`leadledger serve --role ingest`,
# `projector`, `query`, `sla`, each on its own port) on one fresh topic and database, and runs
# `leadledger-soak` against them: simulated traffic at a fixed rate for a fixed time plus a
# light query load, RSS of every role and projector lag sampled throughout, then a bounded wait
# for the lag to return to zero. Writes docs/BENCHMARKS-soak.md and the "RSS per role" section
# of docs/BENCHMARKS.md; exits non-zero if a role exceeds the memory target, memory grows,
# the lag does not return to zero, the rate is not sustained or writes are lost.
#
# Environment (defaults in brackets):
#   SOAK_SECONDS [600]       duration of the load        SOAK_RATE [2000]   events/s
#   SOAK_SAMPLE_SECS [5]     seconds between samples     SOAK_QUERY_RATE [20] GetLead/s
#   SOAK_FUNNEL_SECS [5]     seconds between Funnel calls
#   SOAK_DRAIN_SECS [120]    longest wait for the lag to return to zero
#   SOAK_RSS_TARGET_MB [300] memory ceiling per role (VmHWM, MB = 10^6 bytes)
#   SOAK_PORT_BASE [50160]   first of the four listen ports (the next free block is used)
#   SOAK_NO_BUILD=1          use the release binaries already built
#   SOAK_NO_WRITE=1          print the summary only; write no docs
#   SOAK_KEEP=1              keep the database and the role logs (printed at the end)
#   LEADLEDGER_KAFKA (brokers), PGPORT, LEADLEDGER_BENCH_LOG (driver's tracing filter)
# Extra arguments go to leadledger-soak (`--help` lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SOAK_SECONDS:-600}
rate=${SOAK_RATE:-2000}
pgport=${PGPORT:-5432}
brokers=${LEADLEDGER_KAFKA:-127.0.0.1:${LEADLEDGER_BROKER_PORT:-9092}}

bash scripts/broker.sh up
bash scripts/postgres.sh

target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target=${target:-target}
if [ "${SOAK_NO_BUILD:-}" != 1 ]; then
  echo "soak: building leadledger and leadledger-soak (release)"
  cargo build --release -p leadledger -p leadledger-bench
fi
bin=$target/release/leadledger
driver=$target/release/leadledger-soak
for b in "$bin" "$driver"; do
  [ -x "$b" ] || { echo "soak: $b is missing (build without SOAK_NO_BUILD)" >&2; exit 2; }
done

run=$(date +%s)$$
topic=leadledger.soak$run.events
db=ll_soak_$run
url=postgres://postgres@127.0.0.1:$pgport/$db
state=$(mktemp -d /tmp/leadledger-soak.XXXXXX)

psql_admin() {
  PGOPTIONS="--client-min-messages=warning" psql -q -h 127.0.0.1 -p "$pgport" -U postgres \
    -d postgres -c "$1" >/dev/null
}

# A port nobody answers on.
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=${SOAK_PORT_BASE:-50160}
for _ in $(seq 1 20); do
  if free "$base" && free $((base + 1)) && free $((base + 2)) && free $((base + 3)); then break; fi
  base=$((base + 10))
done

roles=(ingest projector query sla)
declare -A pid port
i=0
for role in "${roles[@]}"; do
  port[$role]=$((base + i))
  i=$((i + 1))
done

stop_roles() {
  for role in "${roles[@]}"; do
    if [ -n "${pid[$role]:-}" ]; then kill -TERM "${pid[$role]}" 2>/dev/null || true; fi
  done
  for role in "${roles[@]}"; do
    if [ -n "${pid[$role]:-}" ]; then wait "${pid[$role]}" 2>/dev/null || true; fi
    pid[$role]=
  done
}
cleanup() {
  stop_roles
  if [ "${SOAK_KEEP:-}" = 1 ]; then
    echo "soak: kept database $db and logs in $state"
  else
    psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    rm -rf "$state"
  fi
}
trap cleanup EXIT

export LEADLEDGER_KAFKA_BROKERS=$brokers
export LEADLEDGER_KAFKA_TOPIC=$topic
export LEADLEDGER_KAFKA_HEADERS=false
export LEADLEDGER_DATABASE_URL=$url
export LEADLEDGER_LOG=${LEADLEDGER_LOG:-warn}

# Starts a role and waits until its port answers.
start() {
  local role=$1
  LEADLEDGER_SERVER_LISTEN=127.0.0.1:${port[$role]} "$bin" serve --role "$role" \
    >"$state/$role.log" 2>&1 &
  pid[$role]=$!
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${port[$role]}") 2>/dev/null; then return 0; fi
    if ! kill -0 "${pid[$role]}" 2>/dev/null; then
      echo "soak: role $role exited:" >&2
      cat "$state/$role.log" >&2
      exit 2
    fi
    sleep 0.1
  done
  echo "soak: role $role did not listen on ${port[$role]} within 60 s" >&2
  exit 2
}

echo "soak: topic $topic, database $db, ports $base..$((base + 3)), logs $state"
# The projector first: it creates the database, migrates it and creates the topics.
start projector
for role in ingest query sla; do start "$role"; done
echo "soak: roles up: ingest ${pid[ingest]}, projector ${pid[projector]}, query ${pid[query]}, sla ${pid[sla]}"

args=(
  --ingest "http://127.0.0.1:${port[ingest]}"
  --query "http://127.0.0.1:${port[query]}"
  --pid "ingest=${pid[ingest]}" --pid "projector=${pid[projector]}"
  --pid "query=${pid[query]}" --pid "sla=${pid[sla]}"
  --topic "$topic" --database-url "$url" --brokers "$brokers"
  --rate "$rate" --seconds "$seconds"
  --sample-secs "${SOAK_SAMPLE_SECS:-5}"
  --query-rate "${SOAK_QUERY_RATE:-20}"
  --funnel-secs "${SOAK_FUNNEL_SECS:-5}"
  --drain-secs "${SOAK_DRAIN_SECS:-120}"
  --rss-target-mb "${SOAK_RSS_TARGET_MB:-300}"
  --command "SOAK_SECONDS=$seconds SOAK_RATE=$rate bash scripts/soak.sh${*:+ $*}"
)
[ "${SOAK_NO_WRITE:-}" = 1 ] && args+=(--no-write)

rc=0
"$driver" "${args[@]}" "$@" || rc=$?

# Every role must still be alive and stop cleanly on SIGTERM.
for role in "${roles[@]}"; do
  if ! kill -0 "${pid[$role]}" 2>/dev/null; then
    echo "soak: role $role died during the run; its log:" >&2
    tail -n 40 "$state/$role.log" >&2
    rc=1
  fi
done
for role in "${roles[@]}"; do kill -TERM "${pid[$role]}" 2>/dev/null || true; done
for role in "${roles[@]}"; do
  code=0
  wait "${pid[$role]}" 2>/dev/null || code=$?
  pid[$role]=
  if [ "$code" != 0 ]; then
    echo "soak: role $role exited with $code on SIGTERM; its log:" >&2
    tail -n 40 "$state/$role.log" >&2
    [ "$rc" = 0 ] && rc=1
  fi
done
if [ "$rc" != 0 ]; then
  for role in "${roles[@]}"; do
    if grep -qiE "error|panic" "$state/$role.log"; then
      echo "soak: errors in the $role log:" >&2
      grep -iE "error|panic" "$state/$role.log" | tail -n 10 >&2
    fi
  done
fi
exit "$rc"
