//! Event kinds as policies name them, and how each maps onto the domain's event model.
//!
//! Most kinds are one payload type. Two facts the SLA issue talks about have no event type of
//! their own and are derived from who owns the lead when the event happens (ownership as the
//! lifecycle fold tracks it, in `(occurred_at, event_id)` order):
//!
//! | kind | matches |
//! |---|---|
//! | `handed_off_to_partner` | `HandedOff` / `LeadRouted` whose owner has a non-empty `partner_id` |
//! | `partner_accepted` | `SalesAccepted` while the lead's owner is a partner |
//! | `partner_rejected` | `SalesRejected` while the lead's owner is a partner |
//!
//! A partner's acceptance therefore needs no new event type: the partner's CRM adapter sends
//! the ordinary `SalesAccepted`, and the hand-off before it says who accepted.
//!
//! # Layout
//! - [`EventKind`]: the closed list of names usable in `start`, `target` and `stop_on`.
//! - [`Ownership`]: the running owner, updated like the fold does, for the derived kinds.
//! - [`business_order`]: the fold's timeline order, shared by clocks and feedback.

use leadledger_domain::event::Owner;
use leadledger_domain::{Event, Payload};
use serde::{Deserialize, Serialize};

/// A kind of fact a policy can start on, be met by, or stop on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    LeadCaptured,
    TouchRecorded,
    MqlQualified,
    HandedOff,
    HandedOffToPartner,
    SalesAccepted,
    SalesRejected,
    PartnerAccepted,
    PartnerRejected,
    FollowUpLogged,
    FeedbackRecorded,
    PocStarted,
    PocCompleted,
    Signed,
    Lost,
    Recycled,
    Disqualified,
}

impl EventKind {
    pub const ALL: [EventKind; 17] = [
        EventKind::LeadCaptured,
        EventKind::TouchRecorded,
        EventKind::MqlQualified,
        EventKind::HandedOff,
        EventKind::HandedOffToPartner,
        EventKind::SalesAccepted,
        EventKind::SalesRejected,
        EventKind::PartnerAccepted,
        EventKind::PartnerRejected,
        EventKind::FollowUpLogged,
        EventKind::FeedbackRecorded,
        EventKind::PocStarted,
        EventKind::PocCompleted,
        EventKind::Signed,
        EventKind::Lost,
        EventKind::Recycled,
        EventKind::Disqualified,
    ];

    /// The configuration name (the event type name for plain kinds).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LeadCaptured => "lead_captured",
            EventKind::TouchRecorded => "touch_recorded",
            EventKind::MqlQualified => "mql_qualified",
            EventKind::HandedOff => "handed_off",
            EventKind::HandedOffToPartner => "handed_off_to_partner",
            EventKind::SalesAccepted => "sales_accepted",
            EventKind::SalesRejected => "sales_rejected",
            EventKind::PartnerAccepted => "partner_accepted",
            EventKind::PartnerRejected => "partner_rejected",
            EventKind::FollowUpLogged => "follow_up_logged",
            EventKind::FeedbackRecorded => "feedback_recorded",
            EventKind::PocStarted => "poc_started",
            EventKind::PocCompleted => "poc_completed",
            EventKind::Signed => "signed",
            EventKind::Lost => "lost",
            EventKind::Recycled => "recycled",
            EventKind::Disqualified => "disqualified",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether `e` is a fact of this kind, given the lead's owner just before `e`.
    pub fn matches(self, e: &Event, owner_before: &Owner) -> bool {
        let partner_owned = !owner_before.partner_id.is_empty();
        match (&e.payload, self) {
            (Payload::LeadCaptured(_), EventKind::LeadCaptured)
            | (Payload::TouchRecorded(_), EventKind::TouchRecorded)
            | (Payload::MqlQualified { .. }, EventKind::MqlQualified)
            | (Payload::HandedOff(_), EventKind::HandedOff)
            | (Payload::SalesAccepted { .. }, EventKind::SalesAccepted)
            | (Payload::SalesRejected { .. }, EventKind::SalesRejected)
            | (Payload::FollowUpLogged { .. }, EventKind::FollowUpLogged)
            | (Payload::FeedbackRecorded(_), EventKind::FeedbackRecorded)
            | (Payload::PocStarted { .. }, EventKind::PocStarted)
            | (Payload::PocCompleted { .. }, EventKind::PocCompleted)
            | (Payload::Signed { .. }, EventKind::Signed)
            | (Payload::Lost { .. }, EventKind::Lost)
            | (Payload::Recycled { .. }, EventKind::Recycled)
            | (Payload::Disqualified { .. }, EventKind::Disqualified) => true,
            (Payload::HandedOff(o), EventKind::HandedOffToPartner) => !o.partner_id.is_empty(),
            // leadledger's own routing to a partner is a partner hand-off. It is not a plain
            // `handed_off`: routing answers an MQL at the MQL's instant, and a clock that starts
            // on "MQL or hand-off" must keep the MQL as its start (its alert ids derive from
            // it), whichever of the two ids sorts first.
            (Payload::LeadRouted(r), EventKind::HandedOffToPartner) => {
                !r.owner.partner_id.is_empty()
            }
            (Payload::SalesAccepted { .. }, EventKind::PartnerAccepted)
            | (Payload::SalesRejected { .. }, EventKind::PartnerRejected) => partner_owned,
            _ => false,
        }
    }
}

/// Whether any of `kinds` matches `e`.
pub fn any_matches(kinds: &[EventKind], e: &Event, owner_before: &Owner) -> bool {
    kinds.iter().any(|k| k.matches(e, owner_before))
}

/// The lead's owner as events are replayed, updated like the lifecycle fold updates
/// `LeadState::owner`, except that ownership requests (claims, assignments) are not applied:
/// their outcome is decided in log order and only moves a lead to a rep, which matters to
/// the partner-derived kinds only when a partner-owned lead is claimed (then the partner's
/// later acceptance is still counted as a partner's).
#[derive(Debug, Clone, Default)]
pub struct Ownership(pub Owner);

impl Ownership {
    pub fn apply(&mut self, e: &Event) {
        match &e.payload {
            Payload::HandedOff(o) => self.0 = o.clone(),
            Payload::LeadRouted(r) => self.0 = r.owner.clone(),
            // As the fold: only while the lead still has the owner the step saw.
            Payload::SlaEscalated(x) => {
                if let Some(to) = x.owner_after(&self.0) {
                    self.0 = to.clone();
                }
            }
            Payload::SalesAccepted { rep_id } if !rep_id.is_empty() => {
                self.0.rep_id = rep_id.clone();
            }
            Payload::Recycled { .. } => self.0 = Owner::default(),
            _ => {}
        }
    }
}

/// A lead's distinct events in business order `(occurred_at, event_id)`: the lifecycle fold's
/// [`leadledger_domain::timeline`] (one version per id, chosen independently of input order),
/// less what the fold skips (unknown payloads, newer schema versions).
pub fn business_order(events: &[Event]) -> Vec<&Event> {
    let mut sorted = leadledger_domain::timeline(events);
    sorted.retain(|e| {
        e.schema_version <= leadledger_domain::SCHEMA_VERSION
            && !matches!(e.payload, Payload::Unknown { .. })
    });
    sorted
}
