//! Domain → proto: the events leadledger writes itself (SLA alerts, routing, ownership
//! intents) as complete log records, the parts of a lead an answer carries, and the type
//! name of a wire payload.

use leadledger_domain::event::{
    Company, Contact, LeadSource, Owner, OwnershipMode, Segment, SlaAlert,
};
use leadledger_domain::{Event, Payload, Stage};

use super::time_to_proto;
use crate::pb;
use crate::pb::event::Payload as P;

/// A payload leadledger writes itself, for the log. `None` for payloads clients send.
pub fn internal_payload_to_proto(p: &Payload) -> Option<P> {
    let alert = |a: &SlaAlert| pb::SlaAlert {
        policy_id: a.policy_id.clone(),
        policy_version: a.policy_version,
        start_event_id: a.start_event_id.to_string(),
        started_at: Some(time_to_proto(a.started_at)),
        due_at: Some(time_to_proto(a.due_at)),
    };
    Some(match p {
        Payload::SlaAtRisk(a) => P::SlaAtRisk(alert(a)),
        Payload::SlaBreached(a) => P::SlaBreached(alert(a)),
        Payload::LeadRouted(r) => P::LeadRouted(pb::LeadRouted {
            team: r.owner.team.clone(),
            queue: r.owner.queue.clone(),
            rep_id: r.owner.rep_id.clone(),
            partner_id: r.owner.partner_id.clone(),
            rule_id: r.rule_id.clone(),
            reason: r.reason.clone(),
            weights: weights_to_proto(&r.weights),
            skipped: skipped_to_proto(&r.skipped),
            mql_event_id: r.mql_event_id.to_string(),
        }),
        Payload::SlaEscalated(x) => P::SlaEscalated(super::escalation::to_proto(x)),
        Payload::ContactErased(x) => P::ContactErased(super::privacy::erasure_to_proto(x)),
        Payload::MergeRequested(x) => P::MergeRequested(super::privacy::merge_to_proto(x)),
        Payload::UnmergeRequested(x) => P::UnmergeRequested(super::privacy::unmerge_to_proto(x)),
        Payload::OwnershipRequested(o) => P::OwnershipRequested(pb::OwnershipRequested {
            mode: mode_to_proto(o.mode),
            rep_id: o.rep_id.clone(),
            team: o.team.clone(),
            requested_by: o.requested_by.clone(),
            expected_rep_id: o.expected_rep_id.clone(),
            account_ruling_id: o.account_ruling.clone(),
        }),
        Payload::AccountOwnershipRequested(r) => {
            P::AccountOwnershipRequested(pb::AccountOwnershipRequested {
                lead_id: r.lead.clone(),
                mode: mode_to_proto(r.mode),
                rep_id: r.rep_id.clone(),
                team: r.team.clone(),
                requested_by: r.requested_by.clone(),
                rules: r
                    .rules
                    .by_tier
                    .iter()
                    .map(|(tier, rule)| pb::TierRule {
                        tier: tier.clone(),
                        rule: rule.number(),
                    })
                    .collect(),
                default_rule: r.rules.default.number(),
            })
        }
        _ => return None,
    })
}

/// A complete log record for an event leadledger writes itself (SLA alerts, routing,
/// ownership requests): every envelope field set, as `ingest::prepare` sets them for client
/// events. `None` for payloads clients send.
pub fn internal_event_to_proto(e: &Event, trace: Option<pb::TraceContext>) -> Option<pb::Event> {
    let payload = internal_payload_to_proto(&e.payload)?;
    Some(pb::Event {
        event_id: e.event_id.to_string(),
        tenant_id: e.tenant_id.clone(),
        lead_id: e.lead_id.clone(),
        occurred_at: Some(time_to_proto(e.occurred_at)),
        recorded_at: Some(time_to_proto(e.recorded_at)),
        source: Some(pb::SourceRef {
            system: e.source.system.clone(),
            event_id: e.source.event_id.clone(),
        }),
        schema_version: e.schema_version,
        trace,
        event_type: e.payload.event_type().to_string(),
        visitor_id: String::new(),
        payload: Some(payload),
    })
}

/// The proto number of a stage.
pub fn stage_to_proto(s: Option<Stage>) -> i32 {
    s.map_or(0, Stage::number)
}

/// The proto number of a stage as the read models store it (its name, `Stage::as_str`); 0
/// for none or a name this reader does not know.
pub fn stored_stage_to_proto(s: Option<&str>) -> i32 {
    stage_to_proto(s.and_then(Stage::parse))
}

/// Domain owner → wire owner.
pub fn owner_to_proto(o: &Owner) -> pb::Owner {
    pb::Owner {
        team: o.team.clone(),
        queue: o.queue.clone(),
        rep_id: o.rep_id.clone(),
        partner_id: o.partner_id.clone(),
    }
}

/// Domain contact → wire contact.
pub fn contact_to_proto(c: &Contact) -> pb::Contact {
    pb::Contact {
        email: c.email.clone(),
        phone: c.phone.clone(),
        name: c.name.clone(),
        title: c.title.clone(),
    }
}

/// Domain company → wire company.
pub fn company_to_proto(c: &Company) -> pb::Company {
    pb::Company {
        name: c.name.clone(),
        domain: c.domain.clone(),
        region: c.region.clone(),
        industry: c.industry.clone(),
        segment: match c.segment {
            Segment::Unspecified => pb::Segment::Unspecified,
            Segment::Ka => pb::Segment::Ka,
            Segment::Smb => pb::Segment::Smb,
        } as i32,
        employees: c.employees,
        account_id: c.account_id.clone(),
    }
}

/// Domain source → wire source.
pub fn source_to_proto(s: &LeadSource) -> pb::LeadSource {
    pb::LeadSource {
        channel: s.channel.clone(),
        campaign: s.campaign.clone(),
        medium: s.medium.clone(),
        keyword: s.keyword.clone(),
        utm_source: s.utm_source.clone(),
        utm_medium: s.utm_medium.clone(),
        utm_campaign: s.utm_campaign.clone(),
        utm_term: s.utm_term.clone(),
        utm_content: s.utm_content.clone(),
        landing_page: s.landing_page.clone(),
        referrer: s.referrer.clone(),
        offline_activity_id: s.offline_activity_id.clone(),
    }
}

/// The event type name of a wire payload (the `ll-event-type` header).
pub fn event_type_of(e: &pb::Event) -> &'static str {
    match &e.payload {
        None => "unknown",
        Some(p) => match p {
            P::LeadCaptured(_) => "lead_captured",
            P::TouchRecorded(_) => "touch_recorded",
            P::MqlQualified(_) => "mql_qualified",
            P::HandedOff(_) => "handed_off",
            P::SalesAccepted(_) => "sales_accepted",
            P::SalesRejected(_) => "sales_rejected",
            P::FollowUpLogged(_) => "follow_up_logged",
            P::FeedbackRecorded(_) => "feedback_recorded",
            P::PocStarted(_) => "poc_started",
            P::PocCompleted(_) => "poc_completed",
            P::Signed(_) => "signed",
            P::Lost(_) => "lost",
            P::Recycled(_) => "recycled",
            P::Disqualified(_) => "disqualified",
            P::PaymentCollected(_) => "payment_collected",
            P::SpendRecorded(_) => "spend_recorded",
            P::ClockPaused(_) => "clock_paused",
            P::ClockResumed(_) => "clock_resumed",
            P::SlaAtRisk(_) => "sla_at_risk",
            P::SlaBreached(_) => "sla_breached",
            P::LeadRouted(_) => "lead_routed",
            P::SlaEscalated(_) => "sla_escalated",
            P::OwnershipRequested(_) => "ownership_requested",
            P::ContactErased(_) => "contact_erased",
            P::MergeRequested(_) => "merge_requested",
            P::UnmergeRequested(_) => "unmerge_requested",
            P::IdentityLinked(_) => "identity_linked",
            P::ContactRoleAssigned(_) => "contact_role_assigned",
            P::ReferredBy(_) => "referred_by",
            P::TargetAccountListed(_) => "target_account_listed",
            P::AccountOwnershipRequested(_) => "account_ownership_requested",
            P::AccountCoverageAssigned(_) => "account_coverage_assigned",
            P::RenewalScheduled(_) => "renewal_scheduled",
        },
    }
}

fn mode_to_proto(m: OwnershipMode) -> i32 {
    let m = match m {
        OwnershipMode::Claim => pb::OwnershipMode::Claim,
        OwnershipMode::Assign => pb::OwnershipMode::Assign,
    };
    m as i32
}

/// A routing's (or reassignment's) eligible reps and their weights, for the wire.
pub(super) fn weights_to_proto(w: &[(String, f64)]) -> Vec<pb::RepWeight> {
    w.iter()
        .map(|(rep_id, weight)| pb::RepWeight {
            rep_id: rep_id.clone(),
            weight: *weight,
        })
        .collect()
}

/// A routing's (or reassignment's) skipped reps and why, for the wire.
pub(super) fn skipped_to_proto(s: &[(String, String)]) -> Vec<pb::SkippedRep> {
    s.iter()
        .map(|(rep_id, reason)| pb::SkippedRep {
            rep_id: rep_id.clone(),
            reason: reason.clone(),
        })
        .collect()
}
