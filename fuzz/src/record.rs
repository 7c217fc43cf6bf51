//! Kafka records as the projector reads them, including headers whose keys are not UTF-8.
//!
//! Kafka does not check header keys: any producer can write arbitrary bytes, and librdkafka
//! hands them to the consumer unchanged. rdkafka's safe API only inserts `&str` keys, so
//! [`add_raw`] goes through librdkafka's C API to build what the broker can deliver.

use std::ffi::{c_char, c_void};

use rdkafka::bindings as rdsys;
use rdkafka::message::{BorrowedHeaders, OwnedHeaders, OwnedMessage, Timestamp};

/// The topic records are read from.
pub const TOPIC: &str = "leadledger.events";

/// One header: raw key bytes and an optional value.
pub type RawHeader = (Vec<u8>, Option<Vec<u8>>);

/// Appends a header with raw key and value bytes.
pub fn add_raw(headers: OwnedHeaders, key: &[u8], value: Option<&[u8]>) -> OwnedHeaders {
    // `BorrowedHeaders` is rdkafka's zero-sized view whose address is the native
    // `rd_kafka_headers_t` (rdkafka converts between the two the same way).
    let native = headers.as_borrowed() as *const BorrowedHeaders as *mut rdsys::rd_kafka_headers_t;
    let (value_ptr, value_len) = match value {
        None => (std::ptr::null(), 0),
        Some(v) => (v.as_ptr().cast::<c_void>(), v.len() as isize),
    };
    // SAFETY: `native` is the live, writable header list owned by `headers`; librdkafka copies
    // the key and value before returning.
    let err = unsafe {
        rdsys::rd_kafka_header_add(
            native,
            key.as_ptr().cast::<c_char>(),
            key.len() as isize,
            value_ptr,
            value_len,
        )
    };
    assert_eq!(err, rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR);
    headers
}

/// Headers from raw pairs, in order.
pub fn headers(raw: &[RawHeader]) -> OwnedHeaders {
    raw.iter()
        .fold(OwnedHeaders::new(), |h, (k, v)| add_raw(h, k, v.as_deref()))
}

/// The headers `leadledger_log::envelope::headers` writes for an event, as raw pairs.
pub fn writer_headers(e: &leadledger_api::pb::Event) -> Vec<RawHeader> {
    use leadledger_log::envelope::{EVENT_ID, EVENT_TYPE, SCHEMA_VERSION, TENANT, TRACEPARENT};
    let mut h = vec![
        (
            EVENT_TYPE.into(),
            Some(leadledger_api::convert::event_type_of(e).into()),
        ),
        (
            SCHEMA_VERSION.into(),
            Some(e.schema_version.to_string().into()),
        ),
        (TENANT.into(), Some(e.tenant_id.clone().into())),
        (EVENT_ID.into(), Some(e.event_id.clone().into())),
    ];
    if let Some(t) = e.trace.as_ref().filter(|t| !t.traceparent.is_empty()) {
        h.push((TRACEPARENT.into(), Some(t.traceparent.clone().into())));
    }
    h
}

/// A record of [`TOPIC`] at partition 0, offset 0.
pub fn message(value: Option<Vec<u8>>, headers: Option<OwnedHeaders>) -> OwnedMessage {
    OwnedMessage::new(
        value,
        None,
        TOPIC.to_string(),
        Timestamp::NotAvailable,
        0,
        0,
        headers,
    )
}

/// What a header lookup must answer: the value of the first header named `key`, if it is
/// UTF-8. librdkafka gives a key up to its first NUL, so that is the name compared.
pub fn expected_header<'a>(raw: &'a [RawHeader], key: &str) -> Option<&'a str> {
    raw.iter()
        .find(|(k, _)| k.split(|b| *b == 0).next() == Some(key.as_bytes()))
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}
