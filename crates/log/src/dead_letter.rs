//! Dead letters: a record that cannot be decoded or applied is copied, untouched, to
//! `<topic>.dlq` with the reason and origin in headers, and the projector carries on.

use std::time::Duration;

use rdkafka::message::{Header, Headers as _, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::envelope::{DLQ_ORIGIN, DLQ_REASON};
use crate::{producer::producer_config, LogError};

/// Produces dead letters.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetters {
    pub fn new(brokers: &str, topic: &str) -> Result<Self, LogError> {
        Ok(Self {
            producer: producer_config(brokers).create()?,
            topic: topic.to_string(),
        })
    }

    /// The dead-letter topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Copies `msg` to the dead-letter topic and waits for the broker's acknowledgement, so
    /// the projector may checkpoint past it.
    pub async fn send<M: Message>(&self, msg: &M, reason: &str) -> Result<(), LogError> {
        let origin = format!("{}/{}/{}", msg.topic(), msg.partition(), msg.offset());
        let mut headers = OwnedHeaders::new();
        if let Some(h) = msg.headers() {
            for header in h.iter() {
                headers = headers.insert(Header {
                    key: header.key,
                    value: header.value,
                });
            }
        }
        headers = headers
            .insert(Header {
                key: DLQ_REASON,
                value: Some(reason),
            })
            .insert(Header {
                key: DLQ_ORIGIN,
                value: Some(&origin),
            });
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.topic).headers(headers);
        if let Some(k) = msg.key() {
            record = record.key(k);
        }
        if let Some(p) = msg.payload() {
            record = record.payload(p);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(|(e, _)| LogError::Kafka(e))
    }
}
