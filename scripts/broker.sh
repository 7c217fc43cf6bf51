#!/usr/bin/env bash
# Brings up the Kafka-protocol broker for development and tests: Tansu 0.6.0 on 127.0.0.1:9092.
#   scripts/broker.sh up      install if missing (cached), start if not listening, wait until ready
#   scripts/broker.sh down    stop the broker this script started
#   scripts/broker.sh reset   stop it, delete its data, start it fresh
#   scripts/broker.sh path    print the tansu binary's path (installing it if needed)
# Environment:
#   LEADLEDGER_TOOLS        cache of built tools          (default ~/.cache/leadledger)
#   LEADLEDGER_BROKER_DIR   broker working dir and data    (default /dev/shm/leadledger-broker;
#                           use a disk path when a broker restart must lose nothing)
#   LEADLEDGER_BROKER_PORT  port                           (default 9092)
# Never uses memory:// storage (its fetches from non-zero offsets are wrong in 0.6.0).
set -euo pipefail

TANSU_VERSION=0.6.0
TOOLS=${LEADLEDGER_TOOLS:-$HOME/.cache/leadledger}
ROOT="$TOOLS/tansu-$TANSU_VERSION"
DIR=${LEADLEDGER_BROKER_DIR:-/dev/shm/leadledger-broker}
PORT=${LEADLEDGER_BROKER_PORT:-9092}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

tansu_bin() {
  if [ -x "$ROOT/bin/tansu" ]; then echo "$ROOT/bin/tansu"; return; fi
  echo "broker: installing tansu $TANSU_VERSION into $ROOT (cached; takes ~10-15 min once)" >&2
  mkdir -p "$TOOLS"
  CARGO_TARGET_DIR="$TOOLS/tansu-build" cargo install tansu --version "$TANSU_VERSION" \
    --locked --features dynostore,libsql --root "$ROOT" >&2
  rm -rf "$TOOLS/tansu-build"
  echo "$ROOT/bin/tansu"
}

up() {
  if listening; then echo "broker: already listening on 127.0.0.1:$PORT"; return; fi
  local bin; bin=$(tansu_bin)
  mkdir -p "$DIR"
  echo "broker: starting tansu on 127.0.0.1:$PORT, data in $DIR/tansu.db"
  (cd "$DIR" && CLUSTER_ID=leadledger exec nohup "$bin" broker \
      --listener-url "tcp://127.0.0.1:$PORT" \
      --advertised-listener-url "tcp://127.0.0.1:$PORT" \
      --storage-engine "sqlite://tansu.db" >"$DIR/tansu.log" 2>&1) &
  echo $! >"$DIR/tansu.pid"
  for _ in $(seq 1 300); do
    if listening; then echo "broker: ready"; return; fi
    if ! kill -0 "$(cat "$DIR/tansu.pid")" 2>/dev/null; then
      echo "broker: tansu exited; its log:" >&2; tail -20 "$DIR/tansu.log" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "broker: not listening after 30 s; log in $DIR/tansu.log" >&2; exit 1
}

down() {
  if [ -f "$DIR/tansu.pid" ]; then
    local pid; pid=$(cat "$DIR/tansu.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true  # tansu 0.6.0 may ignore SIGTERM
    for _ in $(seq 1 50); do listening || break; sleep 0.1; done
    rm -f "$DIR/tansu.pid"
    echo "broker: stopped"
  fi
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  reset) down; sleep 0.5; rm -f "$DIR"/tansu.db*; up ;;
  path) tansu_bin ;;
  *) echo "usage: $0 up|down|path" >&2; exit 2 ;;
esac
