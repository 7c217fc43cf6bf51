#!/usr/bin/env bash
# Creates leadledger's topics on Apache Kafka (KRaft) with production settings.
# Usage: BOOTSTRAP=kafka-0:9092 PARTITIONS=24 ./topics.sh
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP}"
PARTITIONS=${PARTITIONS:-24}
kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
  --topic leadledger.events --partitions "$PARTITIONS" --replication-factor 3 \
  --config min.insync.replicas=2 --config retention.ms=-1 --config cleanup.policy=delete
kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
  --topic leadledger.events.dlq --partitions 1 --replication-factor 3 \
  --config min.insync.replicas=2 --config retention.ms=-1
