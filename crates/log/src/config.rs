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
        }
    }
}
