//! Dead letters: a record that cannot be decoded or applied is copied, untouched, to
//! `<topic>.dlq` with the reason and origin in headers, and the projector carries on.

use std::time::Duration;

use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

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
