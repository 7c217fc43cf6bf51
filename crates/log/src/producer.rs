//! The idempotent producer. An event is acknowledged to a client only after the broker
//! acknowledged it with `acks=all`; the producer's idempotence means librdkafka's own
//! retries never write a record twice.

use std::time::Duration;

use futures::future::join_all;
use leadledger_api::pb;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use crate::envelope;
use crate::LogError;

/// Where a record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// Producer configuration shared by the event and dead-letter producers.
pub fn producer_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "30000")
        .set("compression.type", "none");
    crate::config::apply_reconnect(&mut c);
    crate::config::apply_debug(&mut c);
    c
}

/// Appends events to the events topic.
#[derive(Clone)]
pub struct EventProducer {
    producer: FutureProducer,
    topic: String,
    headers: bool,
}

impl EventProducer {
    /// A producer for the events topic of `cfg`.
    pub fn new(cfg: &crate::LogConfig) -> Result<Self, LogError> {
        Ok(Self {
            producer: {
                let mut c = producer_config(&cfg.brokers);
                crate::config::apply_properties(&mut c, &cfg.properties);
                c.create()?
            },
            topic: cfg.topic.clone(),
            headers: cfg.headers,
        })
    }

    /// The topic written to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Appends events (already validated, ids set) and waits for every acknowledgement.
    /// Returns their positions in input order. On error some events may have been written:
    /// retrying with the same events is safe because their ids are deterministic.
    pub async fn append(&self, events: &[pb::Event]) -> Result<Vec<Position>, LogError> {
        let sends = events.iter().map(|e| self.send_one(e));
        join_all(sends).await.into_iter().collect()
    }

    async fn send_one(&self, e: &pb::Event) -> Result<Position, LogError> {
        let value = envelope::encode(e);
        let mut record = FutureRecord::to(&self.topic)
            .key(e.lead_id.as_bytes())
            .payload(&value);
        if self.headers {
            record = record.headers(envelope::headers(e));
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|d| Position {
                partition: d.partition,
                offset: d.offset,
            })
            .map_err(|(err, _)| LogError::Kafka(err))
    }

    /// The end offset (high watermark) of every partition of `topic`, as the broker reports
    /// it now. Blocking: call it from a blocking thread.
    pub fn end_offsets(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<std::collections::BTreeMap<i32, i64>, LogError> {
        crate::admin::end_offsets(self.producer.client(), topic, timeout)
    }

    /// The partitions of `topic` the broker knows now (one metadata request): whether the
    /// log answers, for health probes. Blocking: call it from a blocking thread.
    pub fn partitions(&self, topic: &str, timeout: Duration) -> Result<Vec<i32>, LogError> {
        crate::admin::partitions(self.producer.client(), topic, timeout)
    }

    /// The end offsets of some partitions of `topic` (one round trip each, no metadata
    /// request). Blocking: call it from a blocking thread.
    pub fn end_offsets_of(
        &self,
        topic: &str,
        partitions: &[i32],
        timeout: Duration,
    ) -> Result<std::collections::BTreeMap<i32, i64>, LogError> {
        partitions
            .iter()
            .map(|p| {
                let (_, high) = self
                    .producer
                    .client()
                    .fetch_watermarks(topic, *p, timeout)?;
                Ok((*p, high))
            })
            .collect()
    }

    /// Records handed to the producer and not yet acknowledged (or failed): its queue.
    pub fn queue_depth(&self) -> i32 {
        self.producer.in_flight_count()
    }

    /// Waits for everything in flight (graceful shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), LogError> {
        self.producer.flush(timeout).map_err(LogError::Kafka)
    }
}
