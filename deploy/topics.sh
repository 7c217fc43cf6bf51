#!/usr/bin/env bash
# Creates leadledger's topics on Apache Kafka (KRaft) ahead of time, with the settings
# leadledger itself creates them with (crates/log/src/retention.rs): unlimited retention by
# time and size, cleanup.policy=delete (never compact), min.insync.replicas. Optional: the
# ingest, projector and sla roles create missing topics at start. Use it when leadledger's
# Kafka user may not create topics.
#
# Usage: BOOTSTRAP=kafka-0:9092 [PARTITIONS=24] [REPLICATION=3] [MIN_ISR=2] ./topics.sh
# PARTITIONS must be at least kafka.partitions: with fewer, every role refuses to start
# (kafka.topic_check = enforce). Extra kafka-topics.sh flags (e.g. --command-config
# client.properties for SASL/TLS) go in KAFKA_TOPICS_ARGS.
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP}"
TOPIC=${TOPIC:-leadledger.events}
PARTITIONS=${PARTITIONS:-24}
REPLICATION=${REPLICATION:-3}
MIN_ISR=${MIN_ISR:-2}
read -r -a extra <<<"${KAFKA_TOPICS_ARGS:-}"
create() {
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor "$REPLICATION" \
    --config retention.ms=-1 --config retention.bytes=-1 --config cleanup.policy=delete \
    --config min.insync.replicas="$MIN_ISR"
}
create "$TOPIC" "$PARTITIONS"
# Dead letters are kept as long as the events: they are what a redrive re-appends.
create "$TOPIC.dlq" 1
