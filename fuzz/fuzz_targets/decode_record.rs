//! A Kafka record as the projector reads it: arbitrary value bytes and arbitrary headers,
//! through `envelope::decode` and `envelope::header`, the proto → domain conversion, the
//! domain validator, ingest (what it accepts as a client's fact) and `leadledger_log::decode`.
//!
//! Input layout (so that a seed is just an encoded event behind three bytes):
//! - byte 0, flags: bit 0 the record has a value; bit 1 it carries the headers the service
//!   writes for the decoded event; bit 2 those come after the arbitrary ones, not before;
//! - bytes 1..3: `n`, little-endian, the length of the arbitrary-header section;
//! - the next `n` bytes: arbitrary headers (raw key bytes, optional raw value);
//! - the rest: the record value.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use leadledger_api::convert::{self, event_from_proto, event_from_proto_best_effort, Mode};
use leadledger_api::pb;
use leadledger_domain::{validate, Payload, Violations};
use leadledger_fuzz::record::{self, RawHeader};
use leadledger_fuzz::{now, seeds, TRACEPARENT};
use leadledger_log::envelope::{self, DecodeError};
use leadledger_log::decode::{decode, Decoded};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fuzz_target!(
    init: seeds::write_if_asked("decode_record"),
    |data: &[u8]| run(data)
);

fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (n, rest) = match rest {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => return,
    };
    let (header_bytes, value) = rest.split_at(n.min(rest.len()));
    let extra: Vec<RawHeader> =
        Vec::arbitrary_take_rest(Unstructured::new(header_bytes)).unwrap_or_default();
    let value = (flags & 1 == 1).then_some(value);

    let decoded = check_decode(value);

    // The record's headers: the arbitrary ones, plus the writer's own when asked for.
    let mut raw = extra;
    if let (Some(e), true) = (&decoded, flags & 2 == 2) {
        let own = record::writer_headers(e);
        raw = if flags & 4 == 4 {
            raw.into_iter().chain(own).collect()
        } else {
            own.into_iter().chain(raw).collect()
        };
    }
    let headers = record::headers(&raw);
    for key in [
        envelope::EVENT_TYPE,
        envelope::SCHEMA_VERSION,
        envelope::TENANT,
        envelope::EVENT_ID,
        envelope::TRACEPARENT,
    ] {
        assert_eq!(
            envelope::header(Some(&headers), key),
            record::expected_header(&raw, key),
            "header {key}"
        );
    }
    let header_type = envelope::header(Some(&headers), envelope::EVENT_TYPE).unwrap_or("");

    if let Some(e) = &decoded {
        check_convert(e, header_type);
        check_ingest(e);
    }
    check_projector(
        record::message(value.map(<[u8]>::to_vec), Some(headers)),
        decoded.as_ref(),
    );
}

/// `envelope::decode`: a value that decodes re-encodes to bytes that decode to the same
/// event, and that encoding is canonical. The writer's headers name the event.
fn check_decode(value: Option<&[u8]>) -> Option<pb::Event> {
    let e = match envelope::decode(value) {
        Ok(e) => e,
        Err(DecodeError::Empty) => {
            // A null or an empty value: "record has no value", not a list of missing fields.
            assert!(value.is_none_or(<[u8]>::is_empty));
            return None;
        }
        Err(DecodeError::Protobuf(m)) => {
            assert!(value.is_some() && !m.is_empty());
            return None;
        }
        Err(DecodeError::Invalid(m)) => panic!("decode only checks the wire format: {m}"),
    };
    let bytes = envelope::encode(&e);
    assert_eq!(bytes.len(), e.encoded_len());
    if bytes.is_empty() {
        // Only unknown fields (dropped) or defaults: the event is empty, and so would be a
        // record of it ("record has no value").
        assert_eq!(e, pb::Event::default());
        return Some(e);
    }
    let again = envelope::decode(Some(&bytes)).expect("re-encoded event decodes");
    assert_eq!(again, e);
    assert_eq!(envelope::encode(&again), bytes);

    let h = envelope::headers(&e);
    let h = Some(&h);
    assert_eq!(
        envelope::header(h, envelope::EVENT_TYPE),
        Some(convert::event_type_of(&e))
    );
    assert_eq!(
        envelope::header(h, envelope::SCHEMA_VERSION),
        Some(e.schema_version.to_string().as_str())
    );
    assert_eq!(
        envelope::header(h, envelope::TENANT),
        Some(e.tenant_id.as_str())
    );
    assert_eq!(
        envelope::header(h, envelope::EVENT_ID),
        Some(e.event_id.as_str())
    );
    let tp = e.trace.as_ref().map_or("", |t| t.traceparent.as_str());
    assert_eq!(
        envelope::header(h, envelope::TRACEPARENT),
        (!tp.is_empty()).then_some(tp)
    );
    Some(e)
}

/// The conversion, in both modes: strict and best effort agree, the placeholders keep what
/// can be kept, the validator runs on whatever comes out.
fn check_convert(e: &pb::Event, header_type: &str) {
    for mode in [Mode::Request, Mode::Log] {
        for event_type in ["", header_type] {
            let mut best_v = Violations::default();
            let best = event_from_proto_best_effort(e, mode, event_type, &mut best_v);
            let mut strict_v = Violations::default();
            let strict = event_from_proto(e, mode, event_type, &mut strict_v);
            assert_eq!(best_v, strict_v);
            assert_eq!(strict.is_some(), best_v.is_empty());
            if let Some(s) = &strict {
                assert_eq!(s, &best);
            }
            for f in &best_v.0 {
                assert!(!f.field.is_empty() && !f.description.is_empty(), "{f:?}");
            }
            assert_eq!(best.tenant_id, e.tenant_id);
            assert_eq!(best.lead_id, e.lead_id);
            assert_eq!(best.schema_version, e.schema_version.max(1));
            match (&e.payload, mode) {
                (Some(_), _) => {
                    assert_eq!(best.payload.event_type(), convert::event_type_of(e))
                }
                (None, Mode::Log) => assert_eq!(
                    best.payload,
                    Payload::Unknown {
                        event_type: if event_type.is_empty() {
                            "unknown".into()
                        } else {
                            event_type.into()
                        }
                    }
                ),
                (None, Mode::Request) => {
                    assert!(best_v.0.iter().any(|f| f.field == "payload"))
                }
            }
            // A time the conversion accepts is a valid protobuf Timestamp and converts back
            // to the same wire value.
            if let Some(t) = &e.occurred_at {
                if let Some(d) = convert::time_from_proto(t) {
                    assert!((0..1_000_000_000).contains(&t.nanos), "{t:?}");
                    assert_eq!(&convert::time_to_proto(d), t);
                    assert_eq!(best.occurred_at, d);
                }
            }

            let rules = validate::event(&best, now());
            for f in &rules.0 {
                assert!(!f.field.is_empty() && !f.description.is_empty(), "{f:?}");
            }
        }
    }
}

/// Ingest: it files a client's fact under its key (`ingest::file`: a visitor's, a spend's),
/// then runs the strict request conversion and the domain validator on it. It accepts exactly
/// what those accept, but for source systems reserved for leadledger's own facts (refused by
/// ingest alone); what the filing refuses it refuses on the same fields. A type leadledger
/// writes itself is refused before anything else, with that reason alone. The projector
/// applies what ingest wrote.
fn check_ingest(e: &pb::Event) {
    let mut filed = e.clone();
    let mut filing = Violations::default();
    leadledger_grpc::ingest::file(&mut filed, &mut filing);
    let reserved = e
        .source
        .as_ref()
        .is_some_and(|s| leadledger_domain::ids::is_reserved_system(&s.system));
    let mut strict_v = Violations::default();
    let accepted = filing.is_empty()
        && !reserved
        && event_from_proto(&filed, Mode::Request, "", &mut strict_v)
            .is_some_and(|d| validate::event(&d, now()).is_empty());

    let mut v = Violations::default();
    let prepared = leadledger_grpc::ingest::prepare(
        e.clone(),
        &e.tenant_id,
        now(),
        Some(&leadledger_fuzz::trace_context()),
        "",
        &mut v,
    );
    // A type leadledger writes itself is refused first and alone, whatever else is wrong.
    if validate::written_by_leadledger(convert::event_type_of(e)) {
        assert!(prepared.is_none(), "ingest accepted a type leadledger writes: {e:?}");
        assert_eq!(v.0.len(), 1, "{v:?}");
        assert_eq!(v.0[0].field, "payload");
        return;
    }
    let Some(prepared) = prepared else {
        assert!(!accepted, "filing, strict conversion and validator accept, ingest refuses: {v:?}");
        for f in &filing.0 {
            assert!(v.0.contains(f), "the filing refused {f:?}, ingest said {v:?}");
        }
        return;
    };
    assert!(accepted, "ingest accepted what the filing or validator refuses: {filing:?} {strict_v:?}");
    assert_eq!(prepared.lead_id, filed.lead_id);
    let m = record::message(
        Some(envelope::encode(&prepared)),
        Some(envelope::headers(&prepared)),
    );
    let Decoded { event: d, trace, .. } = decode(&m).unwrap_or_else(|r| {
        panic!("ingest accepted {prepared:?} but the projector refuses it: {r}")
    });
    assert_eq!(d.event_id.to_string(), prepared.event_id);
    assert_eq!(trace.map(|t| t.traceparent).as_deref(), Some(TRACEPARENT));
    assert!(validate::event(&d, now()).is_empty());
}

/// `leadledger_log::decode` on the record: never panics; what it applies has an id, a tenant and
/// a lead, and is what the log-mode conversion gives.
fn check_projector(m: rdkafka::message::OwnedMessage, decoded: Option<&pb::Event>) {
    let result = decode(&m);
    let Some(e) = decoded else {
        assert!(result.is_err(), "a value that is not an event was applied");
        return;
    };
    if let Ok(Decoded { event: d, trace, .. }) = result {
        assert!(!d.event_id.is_nil());
        assert!(!d.tenant_id.is_empty() && !d.lead_id.is_empty());
        assert_eq!(trace.as_ref(), e.trace.as_ref());
        assert_eq!(d.tenant_id, e.tenant_id);
        assert_eq!(d.lead_id, e.lead_id);
        if e.payload.is_some() {
            assert_eq!(d.payload.event_type(), convert::event_type_of(e));
        }
    }
}
