//! The log's record value, a protobuf `leadledger.v1.Event`, and the one decoder of it into a
//! domain event.
//!
//! A value is decoded the same way wherever it is read: from the log by the projector
//! (`leadledger_log::decode`, which adds what only a Kafka record has: headers, dead-letter
//! reasons), and from `lead_events.raw`, which stores it exactly as it was read, by every
//! reader of a stored timeline (`leadledger_store::timeline`).

use leadledger_domain::{Event, Violations};
use prost::Message as _;

use crate::convert::{self, Mode};
use crate::pb;

/// Encodes an event's value.
pub fn encode(e: &pb::Event) -> Vec<u8> {
    e.encode_to_vec()
}

/// Why a record value could not be decoded.
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
    // An empty value (not only a null one) is no event: protobuf would read it as an event
    // with every field unset and the reason would be a list of missing fields.
    let bytes = value.filter(|b| !b.is_empty()).ok_or(DecodeError::Empty)?;
    pb::Event::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))
}

/// A wire event as a domain event, or why it is not one; `type_hint` is the type a value
/// without one is read as (the record's Kafka header, or the stored `event_type` column).
pub fn to_event(wire: &pb::Event, type_hint: &str) -> Result<Event, String> {
    let event_type = if wire.event_type.is_empty() {
        type_hint
    } else {
        wire.event_type.as_str()
    };
    let mut v = Violations::default();
    convert::event_from_proto(wire, Mode::Log, event_type, &mut v).ok_or_else(|| describe(&v))
}

/// A stored record value (`lead_events.raw`) as the event it was applied as.
pub fn decode_event(raw: &[u8], type_hint: &str) -> Result<Event, String> {
    let wire = decode(Some(raw)).map_err(|e| e.to_string())?;
    to_event(&wire, type_hint)
}

/// Field violations in one line: `invalid event: field: why; field: why`.
pub fn describe(v: &Violations) -> String {
    let parts: Vec<String> =
        v.0.iter()
            .map(|f| format!("{}: {}", f.field, f.description))
            .collect();
    format!("invalid event: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_a_value_says_so() {
        for value in [None, Some(&[][..])] {
            let e = decode(value).unwrap_err();
            assert_eq!(e.to_string(), "record has no value");
        }
    }
}
