//! A record of the events topic as a domain event, or the reason it goes to the dead letters.

use leadledger_api::record;
use leadledger_domain::Event;
use rdkafka::message::Message;

use crate::envelope;

/// A record the projector can apply.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub event: Event,
    /// `event` as JSON, stored in `lead_events.body` for SQL readers (made once, here).
    pub body: serde_json::Value,
    /// The W3C trace context of the request that appended it.
    pub trace: Option<leadledger_api::pb::TraceContext>,
}

/// Decodes a record, or says why it cannot be applied (the dead-letter reason).
pub fn decode<M>(m: &M) -> Result<Decoded, String>
where
    M: Message,
    M::Headers: envelope::RawHeaders,
{
    let wire = record::decode(m.payload()).map_err(|e| e.to_string())?;
    let event = record::to_event(
        &wire,
        envelope::header(m.headers(), envelope::EVENT_TYPE).unwrap_or(""),
    )?;
    if event.event_id.is_nil() {
        return Err("invalid event: event_id: required".into());
    }
    if event.tenant_id.is_empty() || event.lead_id.is_empty() {
        return Err("invalid event: tenant_id and lead_id are required".into());
    }
    // PostgreSQL text cannot hold NUL; the ingest validator refuses control characters, but
    // records produced straight to the topic bypass it.
    let body = serde_json::to_value(&event).map_err(|e| format!("cannot encode: {e}"))?;
    if has_nul(&body) {
        return Err("invalid event: a string contains a NUL character".into());
    }
    let trace = wire.trace;
    Ok(Decoded { event, body, trace })
}

fn has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(has_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}
