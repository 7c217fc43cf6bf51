//! Record encoding: key = lead id, value = protobuf `Event`, plus headers so that a reader
//! can route, trace or skip a record without decoding its value.

use leadledger_api::pb;
use prost::Message as _;
use rdkafka::message::{Header, Headers, OwnedHeaders};

/// Header: the payload type name (`lead_captured`, ...).
pub const EVENT_TYPE: &str = "ll-event-type";
/// Header: the payload schema version.
pub const SCHEMA_VERSION: &str = "ll-schema-version";
/// Header: the tenant.
pub const TENANT: &str = "ll-tenant";
/// Header: the event id.
pub const EVENT_ID: &str = "ll-event-id";
/// Header: W3C trace context.
pub const TRACEPARENT: &str = "traceparent";
/// Dead-letter header: why the record could not be applied.
pub const DLQ_REASON: &str = "ll-dlq-reason";
/// Dead-letter header: where it came from (`topic/partition/offset`).
pub const DLQ_ORIGIN: &str = "ll-dlq-origin";

/// Encodes an event's value.
pub fn encode(e: &pb::Event) -> Vec<u8> {
    e.encode_to_vec()
}

/// The headers written with an event.
pub fn headers(e: &pb::Event) -> OwnedHeaders {
    let version = e.schema_version.to_string();
    let mut h = OwnedHeaders::new()
        .insert(Header {
            key: EVENT_TYPE,
            value: Some(leadledger_api::convert::event_type_of(e)),
        })
        .insert(Header {
            key: SCHEMA_VERSION,
            value: Some(&version),
        })
        .insert(Header {
            key: TENANT,
            value: Some(&e.tenant_id),
        })
        .insert(Header {
            key: EVENT_ID,
            value: Some(&e.event_id),
        });
    if let Some(t) = e.trace.as_ref().filter(|t| !t.traceparent.is_empty()) {
        h = h.insert(Header {
            key: TRACEPARENT,
            value: Some(&t.traceparent),
        });
    }
    h
}

/// Reads a UTF-8 header value.
pub fn header<'a, H: Headers>(headers: Option<&'a H>, key: &str) -> Option<&'a str> {
    headers?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record has no value")]
    Empty,
    #[error("value is not a leadledger.v1.Event: {0}")]
    Protobuf(String),
    #[error("invalid event: {0}")]
    Invalid(String),
}

/// Decodes a record value into the wire event.
pub fn decode(value: Option<&[u8]>) -> Result<pb::Event, DecodeError> {
    let bytes = value.ok_or(DecodeError::Empty)?;
    pb::Event::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))
}
