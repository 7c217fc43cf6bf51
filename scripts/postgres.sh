#!/usr/bin/env bash
# Makes sure a PostgreSQL answers on 127.0.0.1:${PGPORT:-5432} with trust auth for "postgres".
# Uses the machine's server when it is up; starts the machine's Debian cluster when it is
# down; otherwise starts a throwaway cluster with the Debian binaries (installing them if absent).
set -euo pipefail
PORT=${PGPORT:-5432}

ready() { pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; }
wait_ready() {
  for _ in $(seq 1 300); do ready && { echo "postgres: ready on 127.0.0.1:$PORT"; return; }; sleep 0.1; done
  echo "postgres: not ready after 30 s" >&2; exit 1
}

if command -v pg_isready >/dev/null && ready; then echo "postgres: ready on 127.0.0.1:$PORT"; exit 0; fi

if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
  ver=$(pg_lsclusters -h | awk '{print $1; exit}'); name=$(pg_lsclusters -h | awk '{print $2; exit}')
  echo "postgres: starting cluster $ver/$name"
  pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
  wait_ready; exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "postgres: installing Debian's postgresql"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
data=${LEADLEDGER_PGDATA:-/tmp/leadledger-pg}
if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"; chown postgres "$data" 2>/dev/null || true
  runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
fi
echo "postgres: starting a throwaway cluster in $data"
runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=/tmp" start >/dev/null
wait_ready
