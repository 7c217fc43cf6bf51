//! Record encoding: key = lead id, value = protobuf `Event`, plus headers so that a reader
//! can route, trace or skip a record without decoding its value.

use std::ffi::CStr;

use leadledger_api::pb;
use rdkafka::bindings::{rd_kafka_header_get_all, rd_kafka_headers_t, rd_kafka_resp_err_t};
use rdkafka::message::{BorrowedHeaders, Header, Headers, OwnedHeaders};

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

pub use leadledger_api::record::encode;

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

/// Headers as librdkafka holds them, for reading without rdkafka's UTF-8 check on keys.
pub trait RawHeaders: Headers {
    fn raw(&self) -> &BorrowedHeaders;
}

impl RawHeaders for BorrowedHeaders {
    fn raw(&self) -> &BorrowedHeaders {
        self
    }
}

impl RawHeaders for OwnedHeaders {
    fn raw(&self) -> &BorrowedHeaders {
        self.as_borrowed()
    }
}

/// Reads a UTF-8 header value: the first header named `key`.
///
/// Kafka does not check that a header key is UTF-8, so any producer can write one that is
/// not; rdkafka's `Headers::get` and `iter` panic on such a key, which would make its record
/// a poison pill. This reads the keys as bytes instead.
pub fn header<'a, H: RawHeaders>(headers: Option<&'a H>, key: &str) -> Option<&'a str> {
    let headers = headers?;
    let native = headers.raw() as *const BorrowedHeaders as *const rd_kafka_headers_t;
    (0..headers.count())
        .find_map(|i| {
            let mut name = std::ptr::null();
            let mut value = std::ptr::null();
            let mut size = 0;
            // SAFETY: `native` is the header list `headers` borrows (`BorrowedHeaders` is
            // rdkafka's zero-sized view at the address of the native list); librdkafka sets
            // `name` to a NUL-terminated key and `value` to `size` bytes (or null), both
            // owned by the list and valid while `headers` is borrowed.
            unsafe {
                let err = rd_kafka_header_get_all(native, i, &mut name, &mut value, &mut size);
                if err != rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    return None;
                }
                (CStr::from_ptr(name).to_bytes() == key.as_bytes()).then(|| {
                    (!value.is_null()).then(|| std::slice::from_raw_parts(value.cast::<u8>(), size))
                })
            }
        })
        .flatten()
        .and_then(|v| std::str::from_utf8(v).ok())
}

pub use leadledger_api::record::{decode, DecodeError};

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Appends a header with raw key bytes, as any producer can write them (rdkafka's
    /// `OwnedHeaders::insert` only takes `&str` keys).
    pub(crate) fn add_raw(h: OwnedHeaders, key: &[u8], value: &[u8]) -> OwnedHeaders {
        let native = h.as_borrowed() as *const BorrowedHeaders as *mut rd_kafka_headers_t;
        // SAFETY: `native` is the writable list `h` owns; librdkafka copies key and value.
        let err = unsafe {
            rdkafka::bindings::rd_kafka_header_add(
                native,
                key.as_ptr().cast(),
                key.len() as isize,
                value.as_ptr().cast(),
                value.len() as isize,
            )
        };
        assert_eq!(err, rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR);
        h
    }

    #[test]
    fn a_header_key_that_is_not_utf8_is_skipped_not_a_panic() {
        // Found by the decode_record fuzz target: rdkafka's `Headers::iter` unwraps the key
        // as UTF-8, so this record crashed the projector on every retry.
        let h = add_raw(OwnedHeaders::new(), b"\xff\xfe", b"x").insert(Header {
            key: EVENT_TYPE,
            value: Some("signed"),
        });
        assert_eq!(header(Some(&h), EVENT_TYPE), Some("signed"));
        assert_eq!(header(Some(h.as_borrowed()), EVENT_TYPE), Some("signed"));
        assert_eq!(header(Some(&h), TENANT), None);
    }

    #[test]
    fn header_reads_the_first_utf8_value_of_a_key() {
        let h = OwnedHeaders::new()
            .insert(Header {
                key: TENANT,
                value: Some("acme"),
            })
            .insert(Header {
                key: TENANT,
                value: Some("globex"),
            });
        assert_eq!(header(Some(&h), TENANT), Some("acme"));
        let h = add_raw(OwnedHeaders::new(), TENANT.as_bytes(), b"\xff");
        assert_eq!(header(Some(&h), TENANT), None);
        assert_eq!(header(None::<&OwnedHeaders>, TENANT), None);
        let h = OwnedHeaders::new().insert(Header::<&str> {
            key: TENANT,
            value: None,
        });
        assert_eq!(header(Some(&h), TENANT), None);
    }

    #[test]
    fn writer_headers_name_the_event() {
        let e = pb::Event {
            event_id: "6f1c9a8e-5b7d-4c3e-9a2f-1d0e8b7c6a5f".into(),
            tenant_id: "acme".into(),
            schema_version: 1,
            payload: Some(pb::event::Payload::Recycled(pb::Recycled {
                reason: "later".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let h = headers(&e);
        assert_eq!(header(Some(&h), EVENT_TYPE), Some("recycled"));
        assert_eq!(header(Some(&h), SCHEMA_VERSION), Some("1"));
        assert_eq!(header(Some(&h), TENANT), Some("acme"));
        assert_eq!(header(Some(&h), EVENT_ID), Some(e.event_id.as_str()));
        assert_eq!(header(Some(&h), TRACEPARENT), None);
        assert_eq!(decode(Some(&encode(&e))), Ok(e));
    }
}
