//! An `Append` request through the ingest validation path: tenant resolution, trace context,
//! `ingest::prepare_batch` (batch size, proto → domain conversion, domain rules, ids).
//!
//! Input: byte 0 even, the rest is an encoded `AppendRequest` (the wire form, as tonic
//! decodes it); odd, the rest is an `arbitrary` request (extreme values reached quickly).
#![no_main]

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use leadledger_api::convert;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::{ids, validate, Violations};
use leadledger_fuzz::arb::{self, Str};
use leadledger_fuzz::{now, record, seeds};
use leadledger_log::envelope;
use leadledger_log::decode::{decode, Decoded};
use leadledger_grpc::{ingest, tenant, trace};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use tonic::metadata::{MetadataMap, MetadataValue};

#[derive(Debug, Arbitrary)]
struct Request {
    tenant_id: Str,
    header_tenant: Option<Str>,
    traceparent: Option<Str>,
    events: Vec<arb::EventSpec>,
    /// 0..=250: the events as they are; 251: repeated to exactly `MAX_BATCH`; 252..=255:
    /// repeated to 1..4 past it (the boundary without a huge input, and without making
    /// every run validate hundreds of events).
    size: u8,
}

fuzz_target!(
    init: seeds::write_if_asked("validate_request"),
    |data: &[u8]| run(data)
);

fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        // Bytes tonic would refuse ("failed to decode") never reach the service.
        if let Ok(r) = pb::AppendRequest::decode(rest) {
            append(&MetadataMap::new(), &r.tenant_id, r.events);
        }
        return;
    }
    let Ok(r) = Request::arbitrary_take_rest(Unstructured::new(rest)) else {
        return;
    };
    let mut md = MetadataMap::new();
    if let Some(Ok(v)) = r.header_tenant.map(|t| MetadataValue::try_from(t.get())) {
        md.insert(tenant::HEADER, v);
    }
    if let Some(Ok(v)) = r.traceparent.map(|t| MetadataValue::try_from(t.get())) {
        md.insert("traceparent", v);
    }
    let one: Vec<pb::Event> = r.events.iter().map(arb::EventSpec::get).collect();
    let n = match r.size {
        0..=250 => one.len(),
        251 => validate::MAX_BATCH,
        s => validate::MAX_BATCH + usize::from(s - 251),
    };
    let events = one.iter().cycle().take(n).cloned().collect();
    append(&md, &r.tenant_id.get(), events);
}

/// What `Append` does before writing: the tenant, the trace context, the batch.
fn append(md: &MetadataMap, requested_tenant: &str, events: Vec<pb::Event>) {
    // Outside a traced span the events carry the caller's context as it came (or none).
    let remote = trace::remote_of(md);
    let tc = leadledger_log::trace::current_or(&remote);
    assert_eq!(tc, leadledger_log::trace::to_record(&remote));
    let tenant = match tenant::resolve_parts(None, md, requested_tenant) {
        Ok(t) => t,
        Err(ApiError::Invalid { violations, .. }) => {
            assert!(!violations.is_empty());
            assert!(violations.0.iter().all(|v| v.field == "tenant_id"));
            return;
        }
        Err(e) => panic!("tenant resolution: {e:?}"),
    };
    let mut v = Violations::default();
    validate::tenant_id(&mut v, "tenant_id", &tenant);
    assert!(v.is_empty(), "resolved an invalid tenant {tenant:?}");
    batch(&tenant, tc.as_ref(), events);
}

fn batch(tenant: &str, tp: Option<&pb::TraceContext>, events: Vec<pb::Event>) {
    let n = events.len();
    let sized = (1..=validate::MAX_BATCH).contains(&n);
    match ingest::prepare_batch(events.clone(), tenant, now(), tp) {
        Err(ApiError::Invalid { violations, .. }) => {
            assert!(!violations.is_empty());
            if !sized {
                assert_eq!(violations.len(), 1);
                assert_eq!(violations.0[0].field, "events");
                return;
            }
            // Every violation names an event of the batch; an event is named iff it is
            // refused on its own.
            let mut named = BTreeSet::new();
            for f in &violations.0 {
                assert!(!f.description.is_empty(), "{f:?}");
                let i = event_index(&f.field).unwrap_or_else(|| panic!("field path {f:?}"));
                assert!(i < n, "{f:?} in a batch of {n}");
                named.insert(i);
            }
            for (i, e) in events.into_iter().enumerate() {
                let mut v = Violations::default();
                let alone = ingest::prepare(e, tenant, now(), tp, "event", &mut v);
                assert_eq!(alone.is_none(), named.contains(&i), "events[{i}]: {v:?}");
            }
        }
        Err(e) => panic!("validation can only refuse with violations: {e:?}"),
        Ok(out) => {
            assert!(sized, "a batch of {n} was accepted");
            assert_eq!(out.len(), n);
            for (e, original) in out.iter().zip(&events) {
                accepted(tenant, tp, e, original);
            }
            // A retry of the same request gets the same events, with the same ids when the
            // client named them (a source id or its own UUID); an event with neither gets
            // a fresh UUIDv7 each time.
            let again = ingest::prepare_batch(events.clone(), tenant, now(), tp)
                .unwrap_or_else(|e| panic!("accepted events refused the second time: {e:?}"));
            for ((a, o), original) in again.iter().zip(&out).zip(&events) {
                let named = !original.event_id.is_empty()
                    || original.source.as_ref().is_some_and(|s| !s.event_id.is_empty());
                let mut a = a.clone();
                if !named {
                    a.event_id.clone_from(&o.event_id);
                }
                assert_eq!(&a, o);
            }
        }
    }
}

/// The `i` of a field path `events[i]` or `events[i].…`.
fn event_index(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("events[")?;
    let (i, rest) = rest.split_once(']')?;
    if !(rest.is_empty() || rest.starts_with('.')) || i.is_empty() {
        return None;
    }
    if !i.bytes().all(|b| b.is_ascii_digit()) || (i.len() > 1 && i.starts_with('0')) {
        return None;
    }
    i.parse().ok()
}

/// An accepted event is ready for the log, and the projector applies it.
fn accepted(tenant: &str, tp: Option<&pb::TraceContext>, e: &pb::Event, original: &pb::Event) {
    assert_eq!(e.tenant_id, tenant);
    assert_eq!(e.recorded_at, Some(convert::time_to_proto(now())));
    assert_eq!(e.event_type, convert::event_type_of(e));
    assert!(e.payload.is_some());
    assert_eq!(e.trace.as_ref(), tp);
    // Clients speak version 1; sealing (version 2) happens after validation, at the write.
    assert_eq!(
        e.schema_version,
        leadledger_domain::event::FIRST_SCHEMA_VERSION
    );
    assert_eq!(e.payload, original.payload);
    // Filed under the client's lead id, or the key of its visitor or spend.
    let mut filed = original.clone();
    let mut filing = Violations::default();
    ingest::file(&mut filed, &mut filing);
    assert!(filing.is_empty(), "accepted what the filing refuses: {filing:?}");
    assert_eq!(e.lead_id, filed.lead_id);

    // The id: a canonical, non-nil UUID; the deterministic one when the source names the fact.
    let id = uuid::Uuid::parse_str(&e.event_id)
        .unwrap_or_else(|_| panic!("event_id {:?} is not a UUID", e.event_id));
    assert!(!id.is_nil(), "accepted the nil event id");
    assert_eq!(e.event_id, id.to_string(), "event_id is not canonical");
    let source = e.source.clone().unwrap_or_default();
    if !source.event_id.is_empty() {
        assert_eq!(
            id,
            ids::source_event_id(tenant, &source.system, &source.event_id)
        );
    } else if let Ok(client) = uuid::Uuid::parse_str(&original.event_id) {
        // The client's UUID, scoped by the tenant.
        assert_eq!(id, ids::client_event_id(tenant, client));
    }

    // Business time: a valid protobuf Timestamp within the accepted window.
    let t = e.occurred_at.expect("occurred_at");
    assert!((0..1_000_000_000).contains(&t.nanos), "occurred_at {t:?}");
    let d = convert::time_from_proto(&t).expect("occurred_at converts");
    assert!(d >= validate::earliest_time() && d <= now() + validate::max_future());

    // Ingest → log → projector.
    let m = record::message(Some(envelope::encode(e)), Some(envelope::headers(e)));
    let Decoded {
        event: d,
        trace: got,
        ..
    } = decode(&m)
        .unwrap_or_else(|r| panic!("ingest accepted {e:?} but the projector refuses it: {r}"));
    assert_eq!(d.event_id, id);
    assert_eq!(got.as_ref(), tp);
    assert!(validate::event(&d, now()).is_empty());
}
