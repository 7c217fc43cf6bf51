//! The body of a notice: one SLA alert or escalation step as JSON (docs/SLA.md, "Webhooks").

use leadledger_domain::event::{Escalation, Owner};
use leadledger_domain::Payload;
use leadledger_store::sla_reports::AlertRow;
use leadledger_store::webhooks::Subscription;
use serde_json::{json, Value};

/// `at_risk`, `breached` or `escalated`: the kind a subscription lists.
pub fn kind(row: &AlertRow) -> Option<&'static str> {
    match row.event.payload {
        Payload::SlaAtRisk(_) => Some("at_risk"),
        Payload::SlaBreached(_) => Some("breached"),
        Payload::SlaEscalated(_) => Some("escalated"),
        _ => None,
    }
}

fn owner(o: &Owner) -> Value {
    json!({
        "team": o.team,
        "queue": o.queue,
        "rep_id": o.rep_id,
        "partner_id": o.partner_id,
    })
}

fn escalation(x: &Escalation) -> Value {
    json!({
        "step_id": x.step_id,
        "trigger": x.trigger.as_str(),
        "after_seconds": x.after_seconds,
        "owner": owner(&x.owner),
        "notify": x.notify,
        "unresolved": x.unresolved,
        "reassignment": x.reassignment.as_ref().map(|r| json!({
            "to": owner(&r.to),
            "mode": r.mode,
            "rule_id": r.rule_id,
            "reason": r.reason,
        })),
    })
}

/// The JSON body for `row` sent to `sub`; `None` for a row that is no SLA notice.
pub fn body(sub: &Subscription, row: &AlertRow) -> Option<Vec<u8>> {
    let kind = kind(row)?;
    let clock = match &row.event.payload {
        Payload::SlaAtRisk(a) | Payload::SlaBreached(a) => a.clone(),
        Payload::SlaEscalated(x) => x.clock(),
        _ => return None,
    };
    let v = json!({
        "subscription_id": sub.subscription_id,
        "event_id": row.event_id,
        "kind": kind,
        "tenant_id": row.event.tenant_id,
        "lead_id": row.lead_id,
        "occurred_at": row.occurred_at,
        "clock": {
            "policy_id": clock.policy_id,
            "policy_version": clock.policy_version,
            "start_event_id": clock.start_event_id,
            "started_at": clock.started_at,
            "due_at": clock.due_at,
        },
        "escalation": match &row.event.payload {
            Payload::SlaEscalated(x) => escalation(x),
            _ => Value::Null,
        },
        "lead": {
            "owner": owner(&Owner {
                team: row.owner_team.clone(),
                queue: row.owner_queue.clone(),
                rep_id: row.owner_rep_id.clone(),
                partner_id: row.owner_partner_id.clone(),
            }),
            "segment": row.segment,
            "region": row.region,
        },
        "position": {"partition": row.log_partition, "offset": row.log_offset},
    });
    serde_json::to_vec(&v).ok()
}
