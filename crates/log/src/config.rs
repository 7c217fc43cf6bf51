//! Where the log is.

/// Broker and topic names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Bootstrap servers, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// The events topic.
    pub topic: String,
    /// Partitions of the events topic when this process creates it.
    pub partitions: i32,
    /// Replication factor when this process creates topics (1 on a laptop, 3 in production).
    pub replication: i32,
    /// Write Kafka headers (event type, schema version, tenant, event id, traceparent) on
    /// event records. leadledger never needs them to read its own log (the value carries all
    /// of it); they serve other consumers. Off for the Tansu dev broker, whose SQLite engine
    /// makes every fetch slower as header rows accumulate (see docs/ARCHITECTURE.md).
    pub headers: bool,
    /// librdkafka properties every client of this process gets (`kafka.properties`): TLS
    /// (`security.protocol=ssl`, `ssl.ca.location`…) and SASL (`sasl.mechanism`,
    /// `sasl.username`, `sasl.password`…) for a managed broker.
    pub properties: Vec<(String, String)>,
    /// `min.insync.replicas` of the topics this process creates (with `acks=all`, how many
    /// replicas hold an event before it is acknowledged; 2 with replication 3 in production).
    pub min_insync_replicas: i32,
    /// What an events topic unfit to be the source of truth (finite retention, compaction,
    /// fewer partitions than `partitions`) does at start.
    pub topic_check: TopicCheck,
}

/// What a process does at start when the events topic exists with settings that lose events
/// (see [`crate::retention`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopicCheck {
    /// Refuse to start, naming the setting and the fix.
    #[default]
    Enforce,
    /// Log a warning and start (an operator who knows, e.g. a copy of the log for tests).
    Warn,
}

impl LogConfig {
    /// The dead-letter topic of the events topic.
    pub fn dead_letter_topic(&self) -> String {
        format!("{}.dlq", self.topic)
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            topic: "leadledger.events".into(),
            partitions: 6,
            replication: 1,
            headers: true,
            properties: Vec::new(),
            min_insync_replicas: 1,
            topic_check: TopicCheck::Enforce,
        }
    }
}

/// Caps librdkafka's reconnect backoff at 1 s (its default doubles up to 10 s). While a
/// broker is down every failed connection attempt doubles the wait, so after a broker
/// restart the producer and the consumer used to sit idle for seconds against a broker that
/// was already back: measured with a SIGKILLed broker down for ~1.9 s, the first ack came
/// 6.2–8.9 s after the broker listened again (`crates/cli/tests/kill.rs`). One connection
/// attempt a second to a broker that is down costs nothing.
///
/// `socket.timeout.ms` is lowered from 60 s to 10 s for the same reason: a Tansu broker
/// restarted under load sometimes accepted the producer's connection and never answered its
/// requests; librdkafka waited the full default socket timeout before reconnecting, so the
/// first ack after the restart came ~60 s late (seen in `kill.rs` on a busy 2-core machine).
pub fn apply_reconnect(c: &mut rdkafka::ClientConfig) {
    c.set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "1000")
        .set("socket.timeout.ms", "10000");
}

/// Sets the process's librdkafka `properties` (TLS, SASL) on a client configuration.
pub fn apply_properties(c: &mut rdkafka::ClientConfig, properties: &[(String, String)]) {
    for (k, v) in properties {
        c.set(k, v);
    }
}

/// Properties leadledger sets itself: `kafka.properties` may not change them (the producer's
/// guarantees and the consumer's checkpoints depend on them).
pub const MANAGED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "enable.idempotence",
    "acks",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "transactional.id",
];

/// Turns on librdkafka's own debug contexts (e.g. `fetch,cgrp`) when `LEADLEDGER_KAFKA_DEBUG`
/// is set; they are logged through `tracing` at target `librdkafka`.
pub fn apply_debug(c: &mut rdkafka::ClientConfig) {
    if let Ok(contexts) = std::env::var("LEADLEDGER_KAFKA_DEBUG") {
        if !contexts.is_empty() {
            c.set("debug", contexts);
        }
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::producer::FutureProducer;
    use rdkafka::ClientConfig;

    use super::*;

    fn producer(props: &[(&str, &str)]) -> Result<FutureProducer, String> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", "127.0.0.1:1");
        let props: Vec<(String, String)> = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        apply_properties(&mut c, &props);
        c.create().map_err(|e| e.to_string())
    }

    #[test]
    fn tls_and_sasl_settings_reach_librdkafka() {
        // TLS is compiled in: librdkafka reads the CA file it is given (a missing one is
        // its error, naming the setting), and SCRAM (which needs OpenSSL) is accepted.
        let e = producer(&[
            ("security.protocol", "ssl"),
            ("ssl.ca.location", "/nonexistent/leadledger-ca.pem"),
        ])
        .err()
        .expect("a missing CA file was accepted");
        assert!(e.contains("ssl.ca.location"), "{e}");
        let _scram = producer(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "leadledger"),
            ("sasl.password", "secret"),
        ])
        .expect("SASL/SCRAM over TLS");
        // An unknown property is librdkafka's error, not silently dropped.
        let e = producer(&[("ssl.no.such.setting", "1")])
            .err()
            .expect("an unknown property was accepted");
        assert!(e.contains("ssl.no.such.setting"), "{e}");
    }
}
