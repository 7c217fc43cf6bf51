//! `SlaEscalated` both ways: the SLA worker's escalation steps as log records, and back.

use chrono::{DateTime, Utc};
use leadledger_domain::event::{Escalation, EscalationTrigger, Owner, Reassignment};
use leadledger_domain::Violations;

use super::to_proto::{skipped_to_proto, weights_to_proto};
use super::{skipped_from_proto, time_from_proto, time_to_proto, uuid_field, weights_from_proto};
use crate::pb;

fn lead_owner_to_proto(o: &Owner) -> pb::LeadOwner {
    pb::LeadOwner {
        team: o.team.clone(),
        queue: o.queue.clone(),
        rep_id: o.rep_id.clone(),
        partner_id: o.partner_id.clone(),
    }
}

fn lead_owner_from_proto(o: Option<&pb::LeadOwner>) -> Owner {
    o.map(|o| Owner {
        team: o.team.clone(),
        queue: o.queue.clone(),
        rep_id: o.rep_id.clone(),
        partner_id: o.partner_id.clone(),
    })
    .unwrap_or_default()
}

/// A step as the wire carries it (the log record's payload, `WatchSla`'s `escalation`).
pub fn to_proto(x: &Escalation) -> pb::SlaEscalated {
    pb::SlaEscalated {
        policy_id: x.policy_id.clone(),
        policy_version: x.policy_version,
        start_event_id: x.start_event_id.to_string(),
        started_at: Some(time_to_proto(x.started_at)),
        due_at: Some(time_to_proto(x.due_at)),
        step_id: x.step_id.clone(),
        trigger: match x.trigger {
            EscalationTrigger::AtRisk => pb::EscalationTrigger::AtRisk,
            EscalationTrigger::Breached => pb::EscalationTrigger::Breached,
        } as i32,
        after_seconds: x.after_seconds,
        owner: Some(lead_owner_to_proto(&x.owner)),
        notify: x.notify.clone(),
        unresolved: x.unresolved.clone(),
        reassignment: x.reassignment.as_ref().map(|r| pb::EscalationReassignment {
            to: Some(lead_owner_to_proto(&r.to)),
            mode: r.mode.clone(),
            rule_id: r.rule_id.clone(),
            reason: r.reason.clone(),
            weights: weights_to_proto(&r.weights),
            skipped: skipped_to_proto(&r.skipped),
        }),
    }
}

pub(super) fn from_proto(v: &mut Violations, x: &pb::SlaEscalated) -> Escalation {
    let f = "payload.sla_escalated";
    let mut time = |name: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(time_from_proto).unwrap_or_else(|| {
            v.add(format!("{f}.{name}"), "required: a valid timestamp");
            DateTime::<Utc>::UNIX_EPOCH
        })
    };
    let started_at = time("started_at", &x.started_at);
    let due_at = time("due_at", &x.due_at);
    let trigger = match pb::EscalationTrigger::try_from(x.trigger) {
        Ok(pb::EscalationTrigger::AtRisk) => EscalationTrigger::AtRisk,
        Ok(pb::EscalationTrigger::Breached) => EscalationTrigger::Breached,
        _ => {
            v.add(
                format!("{f}.trigger"),
                format!("must be AT_RISK or BREACHED, got {}", x.trigger),
            );
            EscalationTrigger::Breached
        }
    };
    Escalation {
        policy_id: x.policy_id.clone(),
        policy_version: x.policy_version,
        start_event_id: uuid_field(v, &format!("{f}.start_event_id"), &x.start_event_id),
        started_at,
        due_at,
        step_id: x.step_id.clone(),
        trigger,
        after_seconds: x.after_seconds,
        owner: lead_owner_from_proto(x.owner.as_ref()),
        notify: x.notify.clone(),
        unresolved: x.unresolved.clone(),
        reassignment: x.reassignment.as_ref().map(|r| Reassignment {
            to: lead_owner_from_proto(r.to.as_ref()),
            mode: r.mode.clone(),
            rule_id: r.rule_id.clone(),
            reason: r.reason.clone(),
            weights: weights_from_proto(&r.weights),
            skipped: skipped_from_proto(&r.skipped),
        }),
    }
}
