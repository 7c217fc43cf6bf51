//! What the command RPCs share (`OwnershipService`, `IdentityService`, `PrivacyService`):
//! the id of the fact a request appends, the request id's check, and appending that one fact
//! to the log within the process's room in the log's queue.

use chrono::Utc;
use leadledger_api::convert::internal_event_to_proto;
use leadledger_api::ApiError;
use leadledger_domain::event::SourceRef;
use leadledger_domain::{ids, validate, Event, Payload, Violations};
use leadledger_log::{EventProducer, Position};
use tonic::metadata::MetadataMap;
use uuid::Uuid;

use crate::shed::LogBudget;
use crate::trace;

/// The event id of a command's fact: UUIDv5 of the caller's request id under `system`, so a
/// retry is the same fact (a UUIDv7 when the caller sent none).
pub(crate) fn fact_id(tenant: &str, system: &str, request_id: &str) -> Uuid {
    if request_id.is_empty() {
        Uuid::now_v7()
    } else {
        ids::source_event_id(tenant, system, request_id)
    }
}

/// Checks an optional id-like field (same rules as a lead id when set).
pub(crate) fn optional_id(v: &mut Violations, field: &str, s: &str) {
    if !s.is_empty() {
        validate::lead_id(v, field, s);
    }
}

/// A fact leadledger writes itself, from `system`, happening and recorded now.
pub(crate) fn fact(
    id: Uuid,
    tenant: &str,
    lead_id: &str,
    system: &str,
    request_id: &str,
    payload: Payload,
) -> Event {
    let now = Utc::now();
    Event {
        event_id: id,
        tenant_id: tenant.to_string(),
        lead_id: lead_id.to_string(),
        occurred_at: now,
        recorded_at: now,
        source: SourceRef {
            system: system.into(),
            event_id: request_id.to_string(),
        },
        schema_version: leadledger_domain::event::FIRST_SCHEMA_VERSION,
        payload,
    }
}

/// Appends `event` (a child span of the caller's trace in `metadata`) and returns where it
/// landed; a log that does not acknowledge it is `UNAVAILABLE`, with `unacknowledged`'s
/// words for the caller.
pub(crate) async fn append(
    budget: &LogBudget,
    producer: &EventProducer,
    metadata: &MetadataMap,
    event: &Event,
    unacknowledged: &str,
) -> Result<Position, ApiError> {
    let tc = leadledger_log::trace::current_or(&trace::remote_of(metadata));
    let wire = internal_event_to_proto(event, tc).ok_or_else(|| {
        ApiError::Internal(format!(
            "a {} fact has no wire form",
            event.payload.event_type()
        ))
    })?;
    let (_, result) = budget.send(producer, vec![wire]).await?;
    let mut positions = result.map_err(|e| {
        tracing::warn!(error = %e, kind = event.payload.event_type(), "appending a command's fact failed");
        ApiError::Unavailable(format!(
            "{unacknowledged} ({e}); retry with the same request_id"
        ))
    })?;
    positions
        .pop()
        .ok_or_else(|| ApiError::Internal("the log returned no position".into()))
}
