//! Conversion between the wire types ([`crate::pb`]) and the domain model.
//!
//! Proto → domain collects structural violations (a missing timestamp, an enum number out of
//! range, no payload) with the same field paths the domain validator uses, so a client gets
//! every problem of a request in one answer. Domain → proto (the payloads leadledger writes
//! itself, read models' parts for answers, a wire event's type name) is in `to_proto`.

use chrono::{DateTime, Utc};
use leadledger_domain::account::coverage::{CoverageAssigned, RenewalScheduled};
use leadledger_domain::account::ownership::{Listing, Request as AccountRequest, Rule, Rules};
use leadledger_domain::event::{
    ClockPause, ClockResume, Company, Contact, Feedback, LeadCaptured, LeadSource, Owner,
    OwnershipMode, OwnershipRequest, PocOutcome, Routing, Segment, SlaAlert, SourceRef,
    TouchRecorded,
};
use leadledger_domain::{Event, Payload, Stage, Violations};
use uuid::Uuid;

use crate::pb;
use crate::pb::event::Payload as P;

mod escalation;
pub use escalation::to_proto as escalation_to_proto;
mod privacy;
pub use privacy::sealed_to_proto;
mod to_proto;
pub use to_proto::{
    company_to_proto, contact_to_proto, event_type_of, internal_event_to_proto,
    internal_payload_to_proto, owner_to_proto, source_to_proto, stage_to_proto,
    stored_stage_to_proto,
};

/// How strict the decoding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A client request: a missing payload is a violation.
    Request,
    /// A record read back from the log: a missing payload is a type this reader does not know
    /// (a newer writer), kept as [`Payload::Unknown`].
    Log,
}

/// Converts a wire timestamp; `None` when it is not a valid `google.protobuf.Timestamp`.
///
/// Nanos must be 0..=999,999,999. chrono also takes 10⁹..2·10⁹ at a second :59 (a leap
/// second), which the protobuf spec, and so any other reader of the log, does not.
pub fn time_from_proto(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    u32::try_from(t.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|n| DateTime::from_timestamp(t.seconds, n))
}

/// Converts to a wire timestamp.
pub fn time_to_proto(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// Converts an event. `event_type` is the type named by the log header, used for payloads
/// this reader does not know. Returns `None` when structural violations were added.
pub fn event_from_proto(
    e: &pb::Event,
    mode: Mode,
    event_type: &str,
    v: &mut Violations,
) -> Option<Event> {
    let before = v.len();
    let event = event_from_proto_best_effort(e, mode, event_type, v);
    (v.len() == before).then_some(event)
}

/// Like [`event_from_proto`], but always returns an event, with neutral placeholders where
/// a field was structurally invalid, so the domain rules can still report every other
/// problem of the same event in one answer.
pub fn event_from_proto_best_effort(
    e: &pb::Event,
    mode: Mode,
    event_type: &str,
    v: &mut Violations,
) -> Event {
    let event_id = if e.event_id.is_empty() {
        Uuid::nil()
    } else {
        match Uuid::parse_str(&e.event_id) {
            // The nil UUID means "no id" everywhere else (the projector refuses it).
            Ok(id) if id.is_nil() && mode == Mode::Request => {
                v.add("event_id", "must not be the nil UUID");
                id
            }
            Ok(id) => id,
            Err(_) => {
                v.add("event_id", "must be a UUID");
                Uuid::nil()
            }
        }
    };
    let occurred_at = required_time(v, "occurred_at", e.occurred_at.as_ref());
    let recorded_at = match (&e.recorded_at, mode) {
        (Some(t), _) => time_from_proto(t).unwrap_or_else(|| {
            v.add("recorded_at", "not a valid timestamp");
            DateTime::UNIX_EPOCH
        }),
        (None, Mode::Request) => DateTime::UNIX_EPOCH,
        (None, Mode::Log) => {
            v.add("recorded_at", "required");
            DateTime::UNIX_EPOCH
        }
    };
    let source = e
        .source
        .as_ref()
        .map_or_else(SourceRef::default, |s| SourceRef {
            system: s.system.clone(),
            event_id: s.event_id.clone(),
        });
    let payload = match &e.payload {
        Some(p) => payload_from_proto(p, v),
        None if mode == Mode::Log => Payload::Unknown {
            event_type: if event_type.is_empty() {
                "unknown".to_string()
            } else {
                event_type.to_string()
            },
        },
        None => {
            v.add("payload", "required: exactly one payload must be set");
            Payload::Unknown {
                event_type: String::new(),
            }
        }
    };
    Event {
        event_id,
        tenant_id: e.tenant_id.clone(),
        lead_id: e.lead_id.clone(),
        occurred_at,
        recorded_at,
        source,
        schema_version: e.schema_version.max(1),
        payload,
    }
}

fn required_time(
    v: &mut Violations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> DateTime<Utc> {
    match t {
        None => {
            v.add(field, "required");
            DateTime::UNIX_EPOCH
        }
        Some(t) => time_from_proto(t).unwrap_or_else(|| {
            v.add(field, "not a valid timestamp");
            DateTime::UNIX_EPOCH
        }),
    }
}

/// Checks that `n` is a value of the proto enum `E` (0, "unspecified", is left to the domain
/// validator, which says "required").
fn known_enum<E: TryFrom<i32>>(v: &mut Violations, field: &str, n: i32) -> i32 {
    if E::try_from(n).is_err() {
        v.add(field, format!("unknown enum value {n}"));
    }
    n
}

fn contact(c: Option<&pb::Contact>) -> Contact {
    c.map(|c| Contact {
        email: c.email.clone(),
        phone: c.phone.clone(),
        name: c.name.clone(),
        title: c.title.clone(),
    })
    .unwrap_or_default()
}

fn company(v: &mut Violations, field: &str, c: Option<&pb::Company>) -> Company {
    let Some(c) = c else {
        return Company::default();
    };
    let segment = match pb::Segment::try_from(c.segment) {
        Ok(pb::Segment::Unspecified) => Segment::Unspecified,
        Ok(pb::Segment::Ka) => Segment::Ka,
        Ok(pb::Segment::Smb) => Segment::Smb,
        Err(_) => {
            v.add(
                format!("{field}.segment"),
                format!("unknown enum value {}", c.segment),
            );
            Segment::Unspecified
        }
    };
    Company {
        name: c.name.clone(),
        domain: c.domain.clone(),
        region: c.region.clone(),
        industry: c.industry.clone(),
        segment,
        employees: c.employees,
        account_id: c.account_id.clone(),
    }
}

fn lead_source(s: Option<&pb::LeadSource>) -> LeadSource {
    s.map(|s| LeadSource {
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
    })
    .unwrap_or_default()
}

/// Converts a captured lead (also used by `CaptureLead`). A contact is required, clear or
/// sealed (the domain validator refuses a sealed one in a request).
pub fn lead_captured(c: &pb::LeadCaptured, field: &str, v: &mut Violations) -> LeadCaptured {
    if c.contact.is_none() && c.sealed_contact.is_none() {
        v.add(format!("{field}.contact"), "required");
    }
    if c.source.is_none() {
        v.add(format!("{field}.source"), "required");
    }
    LeadCaptured {
        contact: contact(c.contact.as_ref()),
        company: company(v, &format!("{field}.company"), c.company.as_ref()),
        source: lead_source(c.source.as_ref()),
        sealed: c
            .sealed_contact
            .as_ref()
            .map(|s| privacy::sealed_from_proto(v, &format!("{field}.sealed_contact"), s)),
    }
}

fn payload_from_proto(p: &P, v: &mut Violations) -> Payload {
    match p {
        P::LeadCaptured(c) => Payload::LeadCaptured(lead_captured(c, "payload.lead_captured", v)),
        P::TouchRecorded(t) => {
            let touch_type = t.touch_type;
            if pb::TouchType::try_from(touch_type).is_err() {
                v.add(
                    "payload.touch_recorded.touch_type",
                    format!("unknown enum value {touch_type}"),
                );
            }
            Payload::TouchRecorded(TouchRecorded {
                channel: t.channel.clone(),
                campaign: t.campaign.clone(),
                touch_type,
                content_id: t.content_id.clone(),
                keyword: t.keyword.clone(),
            })
        }
        P::MqlQualified(m) => Payload::MqlQualified {
            score: m.score,
            reason: m.reason.clone(),
        },
        P::HandedOff(h) => Payload::HandedOff(Owner {
            team: h.team.clone(),
            queue: h.queue.clone(),
            rep_id: h.rep_id.clone(),
            partner_id: h.partner_id.clone(),
        }),
        P::SalesAccepted(a) => Payload::SalesAccepted {
            rep_id: a.rep_id.clone(),
        },
        P::SalesRejected(r) => Payload::SalesRejected {
            reason: known_enum::<pb::RejectReason>(v, "payload.sales_rejected.reason", r.reason),
            text: r.text.clone(),
            rep_id: r.rep_id.clone(),
        },
        P::FollowUpLogged(f) => Payload::FollowUpLogged {
            activity_type: known_enum::<pb::ActivityType>(
                v,
                "payload.follow_up_logged.activity_type",
                f.activity_type,
            ),
            rep_id: f.rep_id.clone(),
            note: f.note.clone(),
        },
        P::FeedbackRecorded(f) => {
            let stage = Stage::from_number(f.stage);
            if f.stage != 0 && stage.is_none() {
                v.add(
                    "payload.feedback_recorded.stage",
                    format!("unknown enum value {}", f.stage),
                );
            }
            Payload::FeedbackRecorded(Feedback {
                stage: stage.or((f.stage != 0).then_some(Stage::Captured)),
                rep_id: f.rep_id.clone(),
                business_situation: f.business_situation.clone(),
                trigger: f.trigger.clone(),
                timeline: f.timeline.clone(),
                risks: f.risks.clone(),
                competitors: f.competitors.clone(),
                progress: f.progress.clone(),
                commercial: f.commercial.clone(),
            })
        }
        P::PocStarted(s) => Payload::PocStarted {
            owner_id: s.owner_id.clone(),
            use_case: s.use_case.clone(),
        },
        P::PocCompleted(c) => {
            let outcome = match pb::PocOutcome::try_from(c.outcome) {
                Ok(pb::PocOutcome::Success) => Some(PocOutcome::Success),
                Ok(pb::PocOutcome::Failure) => Some(PocOutcome::Failure),
                Ok(pb::PocOutcome::Abandoned) => Some(PocOutcome::Abandoned),
                Ok(pb::PocOutcome::Unspecified) => None,
                Err(_) => {
                    v.add(
                        "payload.poc_completed.outcome",
                        format!("unknown enum value {}", c.outcome),
                    );
                    None
                }
            };
            Payload::PocCompleted {
                outcome,
                notes: c.notes.clone(),
            }
        }
        P::Signed(s) => Payload::Signed {
            amount_minor: s.amount_minor,
            currency: s.currency.clone(),
            contract_id: s.contract_id.clone(),
        },
        P::SpendRecorded(s) => {
            let f = "payload.spend_recorded";
            let mut date = |name: &str, text: &str| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|_| {
                    v.add(format!("{f}.{name}"), "required: a date YYYY-MM-DD");
                    chrono::NaiveDate::MIN
                })
            };
            let period_start = date("period_start", &s.period_start);
            let period_end = date("period_end", &s.period_end);
            Payload::SpendRecorded(leadledger_domain::spend::Spend {
                channel: s.channel.clone(),
                campaign: s.campaign.clone(),
                period_start,
                period_end,
                amount_minor: s.amount_minor,
                currency: s.currency.clone(),
            })
        }
        P::PaymentCollected(p) => Payload::PaymentCollected {
            amount_minor: p.amount_minor,
            currency: p.currency.clone(),
            payment_id: p.payment_id.clone(),
            contract_id: p.contract_id.clone(),
        },
        // Reason codes are checked by the domain's validation (an unknown number is a
        // violation of `….code`; a newer writer's code in the log folds as `other`).
        P::Lost(l) => Payload::Lost {
            reason: l.reason.clone(),
            competitor: l.competitor.clone(),
            code: l.code,
            rep_id: l.rep_id.clone(),
        },
        P::Recycled(r) => Payload::Recycled {
            reason: r.reason.clone(),
            code: r.code,
            rep_id: r.rep_id.clone(),
        },
        P::Disqualified(d) => Payload::Disqualified {
            reason: d.reason.clone(),
            code: d.code,
            rep_id: d.rep_id.clone(),
        },
        // The pause reason is checked by the domain's validation, like the exit codes.
        P::ClockPaused(c) => Payload::ClockPaused(ClockPause {
            reason: c.reason,
            note: c.note.clone(),
            policy_ids: c.policy_ids.clone(),
            by: c.by.clone(),
        }),
        P::ClockResumed(c) => Payload::ClockResumed(ClockResume {
            policy_ids: c.policy_ids.clone(),
            by: c.by.clone(),
            note: c.note.clone(),
        }),
        P::SlaAtRisk(a) => Payload::SlaAtRisk(sla_alert(v, "payload.sla_at_risk", a)),
        P::SlaBreached(a) => Payload::SlaBreached(sla_alert(v, "payload.sla_breached", a)),
        P::LeadRouted(r) => Payload::LeadRouted(Routing {
            owner: Owner {
                team: r.team.clone(),
                queue: r.queue.clone(),
                rep_id: r.rep_id.clone(),
                partner_id: r.partner_id.clone(),
            },
            rule_id: r.rule_id.clone(),
            reason: r.reason.clone(),
            weights: weights_from_proto(&r.weights),
            skipped: skipped_from_proto(&r.skipped),
            mql_event_id: uuid_field(v, "payload.lead_routed.mql_event_id", &r.mql_event_id),
        }),
        P::SlaEscalated(x) => Payload::SlaEscalated(escalation::from_proto(v, x)),
        P::ContactErased(x) => Payload::ContactErased(privacy::erasure_from_proto(x)),
        P::MergeRequested(x) => Payload::MergeRequested(privacy::merge_from_proto(x)),
        P::UnmergeRequested(x) => Payload::UnmergeRequested(privacy::unmerge_from_proto(x)),
        P::IdentityLinked(x) => {
            Payload::IdentityLinked(leadledger_domain::identity::visitor::IdentityLinked {
                lead: x.lead_id.clone(),
            })
        }
        P::ContactRoleAssigned(x) => {
            Payload::ContactRoleAssigned(leadledger_domain::account::RoleAssigned {
                role: x.role,
                primary: x.primary,
                rep_id: x.rep_id.clone(),
            })
        }
        P::ReferredBy(x) => Payload::ReferredBy(leadledger_domain::account::Referred {
            referrer: x.referrer_lead_id.clone(),
            rep_id: x.rep_id.clone(),
        }),
        P::OwnershipRequested(o) => Payload::OwnershipRequested(OwnershipRequest {
            mode: ownership_mode(v, "payload.ownership_requested.mode", o.mode),
            rep_id: o.rep_id.clone(),
            team: o.team.clone(),
            requested_by: o.requested_by.clone(),
            expected_rep_id: o.expected_rep_id.clone(),
            account_ruling: o.account_ruling_id.clone(),
        }),
        P::TargetAccountListed(x) => Payload::TargetAccountListed(Listing {
            account: x.account.clone(),
            name: x.name.clone(),
            tier: x.tier.clone(),
            owner_rep_id: x.owner_rep_id.clone(),
            owner_team: x.owner_team.clone(),
            delisted: x.delisted,
        }),
        P::AccountCoverageAssigned(x) => Payload::AccountCoverageAssigned(CoverageAssigned {
            account: x.account.clone(),
            role: x.role,
            rep_id: x.rep_id.clone(),
            removed: x.removed,
        }),
        P::RenewalScheduled(x) => Payload::RenewalScheduled(RenewalScheduled {
            account: x.account.clone(),
            contract_id: x.contract_id.clone(),
            renews_on: chrono::NaiveDate::parse_from_str(&x.renews_on, "%Y-%m-%d").unwrap_or_else(
                |_| {
                    v.add(
                        "payload.renewal_scheduled.renews_on",
                        "required: a date YYYY-MM-DD",
                    );
                    chrono::NaiveDate::MIN
                },
            ),
            amount_minor: x.amount_minor,
            currency: x.currency.clone(),
        }),
        P::AccountOwnershipRequested(x) => {
            let f = "payload.account_ownership_requested";
            let mut rule = |field: String, n: i32| {
                Rule::from_number(n).unwrap_or_else(|| {
                    v.add(field, format!("not an AccountRule value: {n}"));
                    Rule::None
                })
            };
            let by_tier = x
                .rules
                .iter()
                .enumerate()
                .map(|(i, t)| (t.tier.clone(), rule(format!("{f}.rules[{i}].rule"), t.rule)))
                .collect();
            let default = rule(format!("{f}.default_rule"), x.default_rule);
            Payload::AccountOwnershipRequested(AccountRequest {
                lead: x.lead_id.clone(),
                mode: ownership_mode(v, &format!("{f}.mode"), x.mode),
                rep_id: x.rep_id.clone(),
                team: x.team.clone(),
                requested_by: x.requested_by.clone(),
                rules: Rules { by_tier, default },
            })
        }
    }
}

/// An ownership mode from the wire (CLAIM or ASSIGN).
fn ownership_mode(v: &mut Violations, field: &str, n: i32) -> OwnershipMode {
    match pb::OwnershipMode::try_from(n) {
        Ok(pb::OwnershipMode::Assign) => OwnershipMode::Assign,
        Ok(pb::OwnershipMode::Claim) => OwnershipMode::Claim,
        _ => {
            v.add(field, format!("must be CLAIM or ASSIGN, got {n}"));
            OwnershipMode::Claim
        }
    }
}

/// A routing's (or reassignment's) eligible reps and their weights, from the wire.
fn weights_from_proto(w: &[pb::RepWeight]) -> Vec<(String, f64)> {
    w.iter().map(|w| (w.rep_id.clone(), w.weight)).collect()
}

/// A routing's (or reassignment's) skipped reps and why, from the wire.
fn skipped_from_proto(s: &[pb::SkippedRep]) -> Vec<(String, String)> {
    s.iter()
        .map(|s| (s.rep_id.clone(), s.reason.clone()))
        .collect()
}

fn uuid_field(v: &mut Violations, field: &str, s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_else(|_| {
        v.add(field, "not a UUID");
        Uuid::nil()
    })
}

fn sla_alert(v: &mut Violations, f: &str, a: &pb::SlaAlert) -> SlaAlert {
    let mut time = |name: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(time_from_proto).unwrap_or_else(|| {
            v.add(format!("{f}.{name}"), "required: a valid timestamp");
            DateTime::<Utc>::UNIX_EPOCH
        })
    };
    let started_at = time("started_at", &a.started_at);
    let due_at = time("due_at", &a.due_at);
    SlaAlert {
        policy_id: a.policy_id.clone(),
        policy_version: a.policy_version,
        start_event_id: uuid_field(v, &format!("{f}.start_event_id"), &a.start_event_id),
        started_at,
        due_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp {
            seconds: s,
            nanos: 0,
        })
    }

    #[test]
    fn missing_payload_is_a_violation_in_requests_but_unknown_in_the_log() {
        let e = pb::Event {
            lead_id: "l1".into(),
            occurred_at: ts(1_700_000_000),
            recorded_at: ts(1_700_000_001),
            ..Default::default()
        };
        let mut v = Violations::default();
        assert!(event_from_proto(&e, Mode::Request, "", &mut v).is_none());
        assert_eq!(v.0[0].field, "payload");

        let mut v = Violations::default();
        let got = event_from_proto(&e, Mode::Log, "sla_breached", &mut v).unwrap();
        assert_eq!(got.payload.event_type(), "sla_breached");
    }

    #[test]
    fn bad_enum_numbers_are_named() {
        let e = pb::Event {
            occurred_at: ts(1_700_000_000),
            payload: Some(P::SalesRejected(pb::SalesRejected {
                reason: 99,
                ..Default::default()
            })),
            ..Default::default()
        };
        let mut v = Violations::default();
        assert!(event_from_proto(&e, Mode::Request, "", &mut v).is_none());
        assert_eq!(v.0[0].field, "payload.sales_rejected.reason");
        assert!(v.0[0].description.contains("99"));
    }

    #[test]
    fn reason_code_names_are_the_proto_enum_names() {
        use leadledger_domain::{reason, Stage};
        fn names<E: TryFrom<i32>>(prefix: &str, name: impl Fn(E) -> &'static str) -> Vec<String> {
            (0..)
                .map_while(|n| E::try_from(n).ok())
                .map(|e| name(e).strip_prefix(prefix).unwrap().to_lowercase())
                .collect()
        }
        let proto = [
            (
                Stage::Rejected,
                names("REJECT_REASON_", |e: pb::RejectReason| e.as_str_name()),
            ),
            (
                Stage::Recycled,
                names("RECYCLE_REASON_", |e: pb::RecycleReason| e.as_str_name()),
            ),
            (
                Stage::Disqualified,
                names("DISQUALIFY_REASON_", |e: pb::DisqualifyReason| {
                    e.as_str_name()
                }),
            ),
            (
                Stage::Lost,
                names("LOSS_REASON_", |e: pb::LossReason| e.as_str_name()),
            ),
        ];
        for (stage, names) in proto {
            assert_eq!(reason::codes(stage).unwrap(), names, "{stage:?}");
        }
        assert_eq!(
            reason::PAUSED,
            names("PAUSE_REASON_", |e: pb::PauseReason| e.as_str_name())
        );
    }

    #[test]
    fn a_leap_second_is_not_a_valid_timestamp() {
        // Found by the validate_request fuzz target's invariants: chrono reads nanos
        // 1.5·10⁹ at a second :59 as a leap second, so ingest accepted a Timestamp that the
        // protobuf spec calls invalid.
        let leap = prost_types::Timestamp {
            seconds: 1_767_225_599,
            nanos: 1_500_000_000,
        };
        assert_eq!(time_from_proto(&leap), None);
        let last = prost_types::Timestamp {
            seconds: 1_767_225_599,
            nanos: 999_999_999,
        };
        assert_eq!(time_to_proto(time_from_proto(&last).unwrap()), last);
    }

    #[test]
    fn a_client_cannot_send_the_nil_event_id() {
        // Found by the validate_request fuzz target: ingest accepted it and the projector
        // dead-lettered the event ("event_id: required").
        let e = pb::Event {
            event_id: "00000000-0000-0000-0000-000000000000".into(),
            occurred_at: ts(1_700_000_000),
            recorded_at: ts(1_700_000_001),
            payload: Some(P::Recycled(pb::Recycled {
                reason: "later".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let mut v = Violations::default();
        assert!(event_from_proto(&e, Mode::Request, "", &mut v).is_none());
        assert_eq!(v.0[0].field, "event_id");
        // Read back from the log it is the projector's to refuse, with its own reason.
        let mut v = Violations::default();
        assert!(event_from_proto(&e, Mode::Log, "", &mut v).is_some_and(|d| d.event_id.is_nil()));
    }

    #[test]
    fn internal_events_round_trip_through_the_wire() {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let payloads = [
            Payload::SlaBreached(SlaAlert {
                policy_id: "mql-follow-up".into(),
                policy_version: 2,
                start_event_id: Uuid::from_u128(7),
                started_at: at,
                due_at: at + chrono::Duration::hours(24),
            }),
            Payload::LeadRouted(Routing {
                owner: Owner {
                    team: "east".into(),
                    rep_id: "ann".into(),
                    ..Default::default()
                },
                rule_id: "ka".into(),
                reason: "rule `ka` matched".into(),
                weights: vec![("ann".into(), 0.75), ("bob".into(), 0.05)],
                skipped: vec![("cat".into(), "unavailable".into())],
                mql_event_id: Uuid::from_u128(9),
            }),
            Payload::SlaEscalated(leadledger_domain::event::Escalation {
                policy_id: "mql-stale".into(),
                policy_version: 3,
                start_event_id: Uuid::from_u128(7),
                started_at: at,
                due_at: at + chrono::Duration::days(14),
                step_id: "reassign".into(),
                trigger: leadledger_domain::event::EscalationTrigger::Breached,
                after_seconds: 3600,
                owner: Owner {
                    team: "east".into(),
                    rep_id: "ann".into(),
                    ..Default::default()
                },
                notify: vec!["manager:li".into(), "sales-ops".into()],
                unresolved: vec!["team_lead: team `east` has none configured".into()],
                reassignment: Some(leadledger_domain::event::Reassignment {
                    to: Owner {
                        team: "east".into(),
                        rep_id: "bob".into(),
                        ..Default::default()
                    },
                    mode: "next_rep".into(),
                    rule_id: "ka".into(),
                    reason: "rotation".into(),
                    weights: vec![("bob".into(), 1.0)],
                    skipped: vec![("ann".into(), "escalated from".into())],
                }),
            }),
            Payload::OwnershipRequested(OwnershipRequest {
                mode: OwnershipMode::Assign,
                rep_id: "ann".into(),
                team: "east".into(),
                requested_by: "boss".into(),
                expected_rep_id: "bob".into(),
                account_ruling: "r1".into(),
            }),
            Payload::AccountOwnershipRequested(AccountRequest {
                lead: "l1".into(),
                mode: OwnershipMode::Claim,
                rep_id: "ann".into(),
                team: "east".into(),
                requested_by: "ann".into(),
                rules: Rules {
                    by_tier: [("KA".to_string(), Rule::AccountOwner)].into(),
                    default: Rule::FirstClaim,
                },
            }),
        ];
        for payload in payloads {
            let e = Event {
                event_id: Uuid::from_u128(42),
                tenant_id: "t".into(),
                lead_id: "l".into(),
                occurred_at: at,
                recorded_at: at,
                source: SourceRef {
                    system: "leadledger".into(),
                    event_id: String::new(),
                },
                schema_version: 1,
                payload,
            };
            let wire = internal_event_to_proto(&e, None).unwrap();
            let mut v = Violations::default();
            let back = event_from_proto(&wire, Mode::Log, "", &mut v).unwrap();
            assert_eq!(back, e);
            assert_eq!(wire.event_type, event_type_of(&wire));
            // Clients cannot send it.
            let mut v = Violations::default();
            let d = event_from_proto(&wire, Mode::Request, "", &mut v).unwrap();
            assert!(leadledger_domain::validate::event(&d, at)
                .0
                .iter()
                .any(|f| f.field == "payload" && f.description.contains("leadledger itself")));
        }
    }

    #[test]
    fn wire_type_names_match_domain_names() {
        let e = pb::Event {
            occurred_at: ts(1_700_000_000),
            payload: Some(P::Signed(pb::Signed {
                amount_minor: 100,
                currency: "CNY".into(),
                contract_id: "c".into(),
            })),
            ..Default::default()
        };
        let mut v = Violations::default();
        let d = event_from_proto(&e, Mode::Request, "", &mut v).unwrap();
        assert_eq!(d.payload.event_type(), event_type_of(&e));
    }
}
