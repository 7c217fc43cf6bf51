#!/usr/bin/env bash
# The metrics endpoint against real Prometheus tools: a `leadledger serve --role all` with
# `metrics.listen` takes a simulated burst; `promtool check metrics` must find nothing wrong in
# what it serves, and a real Prometheus server (Debian's `prometheus`) scraping it must answer
# PromQL queries on projector lag (0 once caught up, per partition), RPC calls by code and
# events ingested by type.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "metrics-check: installing prometheus (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "metrics-check: prometheus and promtool are missing (Debian: apt-get install prometheus)" >&2
    exit 1
  fi
fi
bin=${LEADLEDGER_BIN:-target/debug/leadledger}
[ -x "$bin" ] || cargo build -q -p leadledger
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc=$(free_port); metrics=$(free_port); prom=$(free_port)
id=metrics$$
db=postgres://postgres@127.0.0.1:${PGPORT:-5432}/ll_$id
work=$(mktemp -d)
server=; prometheus=
cleanup() {
  for pid in $server $prometheus; do
    { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  psql -q -h 127.0.0.1 -p "${PGPORT:-5432}" -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS ll_$id WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "metrics-check: FAILED: $*" >&2
  tail -30 "$work/server.log" >&2 || true
  tail -20 "$work/prometheus.log" >&2 || true
  exit 1
}
wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

export LEADLEDGER_KAFKA_HEADERS=false LEADLEDGER_KAFKA_TOPIC="$id.events" LEADLEDGER_KAFKA_PARTITIONS=3 \
  LEADLEDGER_DATABASE_URL="$db" LEADLEDGER_SERVER_LISTEN="127.0.0.1:$grpc" \
  LEADLEDGER_METRICS_LISTEN="127.0.0.1:$metrics"
key=$("$bin" keys create --tenant demo --scopes ingest,query --quiet 2>>"$work/server.log")
# A tight per-key rate limit: the simulated CRM stream runs past it, and simulate must re-send
# what was refused (as `make run` does at the default limit with 5 000 leads).
LEADLEDGER_LIMITS_RATE_PER_SEC=200 LEADLEDGER_LIMITS_BURST=100 \
  "$bin" serve --role all >"$work/server.log" 2>&1 &
server=$!
wait_port "$grpc" || fail "the server does not listen on $grpc"
wait_port "$metrics" || fail "no metrics endpoint on $metrics"

LEADLEDGER_API_KEY="$key" "$bin" simulate --leads 300 >"$work/simulate.log" 2>&1 \
  || { cat "$work/simulate.log" >&2; fail "simulate"; }
grep -Eq "simulate: [1-9][0-9]* streamed events over the API key's rate limit" "$work/simulate.log" \
  || { cat "$work/simulate.log" >&2; fail "simulate never ran past the key's rate limit"; }

# Every metric is there once the projector has applied a batch and the sampler has run (the
# group join can outlast the simulation): scrape until then.
required=(leadledger_rpc_requests_total leadledger_rpc_duration_seconds_bucket
  leadledger_events_ingested_total leadledger_projector_lag_records
  leadledger_projector_apply_seconds_bucket leadledger_projector_batch_records_bucket
  leadledger_producer_queue_records leadledger_db_pool_connections
  leadledger_sla_clocks leadledger_credits_queue_leads)
deadline=$((SECONDS + 60))
while :; do
  curl -sf "http://127.0.0.1:$metrics/metrics" >"$work/metrics.txt" || fail "scraping /metrics"
  missing=()
  for m in "${required[@]}"; do grep -q "^$m" "$work/metrics.txt" || missing+=("$m"); done
  [ ${#missing[@]} -eq 0 ] && break
  [ $SECONDS -lt $deadline ] || fail "not exported within 60 s: ${missing[*]}"
  sleep 1
done
# promtool lints the exposition: names, types, help text, units, counters' _total.
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1) || fail "promtool check metrics: $lint"
[ -z "$lint" ] || fail "promtool check metrics found problems: $lint"

cat >"$work/prometheus.yml" <<YAML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: leadledger
    static_configs: [{ targets: ["127.0.0.1:$metrics"], labels: { role: all } }]
YAML
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom" >"$work/prometheus.log" 2>&1 &
prometheus=$!
wait_port "$prom" || fail "prometheus does not listen on $prom"

# Answers of a PromQL query (value of the first series; empty when there is none).
query() {
  curl -sf --get "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
deadline=$((SECONDS + 60))
while :; do
  lag=$(query 'sum(leadledger_projector_lag_records{job="leadledger"})' || true)
  parts=$(query 'count(leadledger_projector_lag_records{job="leadledger"})' || true)
  [ "$lag" = "0" ] && [ "$parts" = "3" ] && break
  [ $SECONDS -lt $deadline ] || fail "projector lag in Prometheus: sum=${lag:-none} over ${parts:-no} partitions"
  sleep 1
done
ok=$(query 'sum(leadledger_rpc_requests_total{method="leadledger.v1.IngestService/Append",code="OK"})')
ingested=$(query 'sum(leadledger_events_ingested_total)')
captured=$(query 'sum(leadledger_events_ingested_total{type="lead_captured"})')
applied=$(query 'sum(leadledger_projector_events_applied_total)')
dups=$(query 'sum(leadledger_projector_duplicates_total)')
# simulate re-sends some facts (as CRMs do) and the SLA worker appends alerts and routing
# decisions of its own: every record of the topic (the checkpoints, at the end once lag is 0)
# is either applied or skipped as a duplicate.
records=$(psql -Atq "$db" -c "SELECT sum(next_offset) FROM projector_checkpoints WHERE projection = 'core'")
distinct=$(sed -n 's/.*deliveries (\([0-9]*\) distinct facts).*/\1/p' "$work/simulate.log")
python3 - "$ok" "$ingested" "$captured" "$applied" "$dups" "$records" "$distinct" <<'PY' || fail "PromQL answers: ok=$ok ingested=$ingested captured=$captured applied=$applied duplicates=$dups records=$records distinct=$distinct"
import sys
ok, ingested, captured, applied, dups, records, distinct = (float(x or 0) for x in sys.argv[1:])
assert ok > 0, "no Append call counted"
assert captured >= 300, f"lead_captured ingested {captured}, 300 leads simulated"
assert applied + dups == records, f"applied {applied} + duplicates {dups} != {records} records"
assert records >= ingested, f"{ingested} deliveries ingested, only {records} records in the log"
assert applied >= distinct, f"applied {applied} < {distinct} distinct facts sent"
PY
echo "metrics-check: ok (promtool clean; Prometheus: lag 0 on 3 partitions, $ok Append calls OK, $ingested deliveries ingested; $records records = $applied applied + $dups duplicates)"
kill -TERM "$server"; wait "$server" || fail "the server did not exit cleanly on SIGTERM"
server=
