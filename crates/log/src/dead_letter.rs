//! Dead letters: a record that cannot be decoded or applied is copied, untouched, to
//! `<topic>.dlq` with the reason and origin in headers, and the projector carries on.
//! [`read_all`] reads them back (`leadledger dlq list|show|redrive`).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::envelope::{RawHeaders, DLQ_ORIGIN, DLQ_REASON};
use crate::{producer::producer_config, LogError};

/// Produces dead letters.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetters {
    /// The dead-letter producer of `cfg`'s events topic.
    pub fn new(cfg: &crate::LogConfig) -> Result<Self, LogError> {
        let mut c = producer_config(&cfg.brokers);
        crate::config::apply_properties(&mut c, &cfg.properties);
        Ok(Self {
            producer: c.create()?,
            topic: cfg.dead_letter_topic(),
        })
    }

    /// The dead-letter topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Copies `msg` to the dead-letter topic and waits for the broker's acknowledgement, so
    /// the projector may checkpoint past it.
    pub async fn send<M>(&self, msg: &M, reason: &str) -> Result<(), LogError>
    where
        M: Message,
        M::Headers: RawHeaders,
    {
        let headers = dead_letter_headers(msg, reason);
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

/// A dead letter as read back from the dead-letter topic.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its offset in the dead-letter topic (partition 0): how the CLI names it.
    pub offset: i64,
    /// `topic/partition/offset` of the original record.
    pub origin: String,
    /// Why it was dead-lettered.
    pub reason: String,
    /// The record, key, value and headers as they were.
    pub record: OwnedMessage,
}

/// Every dead letter of `cfg`'s events topic, in order (partition 0 of `<topic>.dlq` from
/// the beginning to its end as the broker reports it when called). Blocking: call it from a
/// blocking thread.
pub fn read_all(cfg: &crate::LogConfig, timeout: Duration) -> Result<Vec<DeadLetter>, LogError> {
    let topic = cfg.dead_letter_topic();
    // A group id is required by the client, never used: partitions are assigned by hand
    // and nothing is committed.
    let mut c = crate::consumer::consumer_config(&cfg.brokers, &format!("{topic}.reader"));
    crate::config::apply_properties(&mut c, &cfg.properties);
    let consumer: BaseConsumer = c.create()?;
    let partitions = crate::admin::partitions(consumer.client(), &topic, timeout)?;
    let mut ends = Vec::new();
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        let (low, high) = consumer.fetch_watermarks(&topic, p, timeout)?;
        if high > low {
            tpl.add_partition_offset(&topic, p, Offset::Offset(low))?;
            ends.push((p, high));
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&tpl)?;
    let deadline = std::time::Instant::now() + timeout;
    let mut remaining: std::collections::BTreeMap<i32, i64> = ends.into_iter().collect();
    while !remaining.is_empty() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(LogError::Admin(format!(
                "reading {topic}: not at its end within {timeout:?} (still to read: {remaining:?})"
            )));
        }
        let Some(m) = consumer.poll(left.min(Duration::from_millis(200))) else {
            continue;
        };
        let m = m?;
        let p = m.partition();
        if remaining.get(&p).is_some_and(|end| m.offset() + 1 >= *end) {
            remaining.remove(&p);
        }
        let header = |k| {
            crate::envelope::header(m.headers(), k)
                .unwrap_or("")
                .to_string()
        };
        out.push(DeadLetter {
            offset: m.offset(),
            origin: header(DLQ_ORIGIN),
            reason: header(DLQ_REASON),
            record: m.detach(),
        });
    }
    out.sort_by_key(|d| (d.record.partition(), d.offset));
    Ok(out)
}

/// The headers of a dead letter: the record's own, copied byte for byte (rdkafka's
/// `Headers::iter` would panic on a key that is not UTF-8), then the reason and the origin.
fn dead_letter_headers<M>(msg: &M, reason: &str) -> OwnedHeaders
where
    M: Message,
    M::Headers: RawHeaders,
{
    let origin = format!("{}/{}/{}", msg.topic(), msg.partition(), msg.offset());
    msg.headers()
        .map_or_else(OwnedHeaders::new, |h| h.raw().detach())
        .insert(Header {
            key: DLQ_REASON,
            value: Some(reason),
        })
        .insert(Header {
            key: DLQ_ORIGIN,
            value: Some(&origin),
        })
}

#[cfg(test)]
mod tests {
    use rdkafka::message::{Headers as _, OwnedMessage, Timestamp};

    use super::*;
    use crate::envelope::{self, tests::add_raw};

    #[test]
    fn headers_are_copied_even_when_a_key_is_not_utf8() {
        let original = add_raw(OwnedHeaders::new(), b"\xffkey", b"v").insert(Header {
            key: envelope::TENANT,
            value: Some("acme"),
        });
        let msg = OwnedMessage::new(
            Some(b"not an event".to_vec()),
            None,
            "leadledger.events".into(),
            Timestamp::NotAvailable,
            2,
            41,
            Some(original),
        );
        let h = dead_letter_headers(&msg, "value is not a leadledger.v1.Event");
        assert_eq!(h.count(), 4);
        assert_eq!(envelope::header(Some(&h), envelope::TENANT), Some("acme"));
        assert_eq!(
            envelope::header(Some(&h), DLQ_REASON),
            Some("value is not a leadledger.v1.Event")
        );
        assert_eq!(
            envelope::header(Some(&h), DLQ_ORIGIN),
            Some("leadledger.events/2/41")
        );
    }
}
