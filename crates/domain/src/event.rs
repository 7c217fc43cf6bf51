//! The event model: one fact about one lead, as the folds see it.
//!
//! These types mirror `proto/leadledger/v1/events.proto` but are plain Rust with no wire
//! concerns: enums are closed, timestamps are `DateTime<Utc>`, and a payload type this
//! reader does not know is [`Payload::Unknown`] (kept in the timeline, skipped by folds).
//! The payloads of SLA clocks, routing and escalation are in `sla`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod sla;

pub use sla::{
    ClockPause, ClockResume, Escalation, EscalationTrigger, Reassignment, Routing, SlaAlert,
};

/// The newest payload schema version; readers fold versions up to this one. Version 2 is a
/// capture whose contact is sealed ([`crate::privacy::SEALED_CONTACT_VERSION`]); every
/// other fact is written as version 1.
pub const SCHEMA_VERSION: u32 = 2;

/// The version ingest gives a fact that names none (and keeps for every fact but a sealed
/// capture).
pub const FIRST_SCHEMA_VERSION: u32 = 1;

/// One fact about one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: Uuid,
    pub tenant_id: String,
    pub lead_id: String,
    /// Business time at the source. Folds order by `(occurred_at, event_id)`.
    pub occurred_at: DateTime<Utc>,
    /// Ingest time.
    pub recorded_at: DateTime<Utc>,
    pub source: SourceRef,
    pub schema_version: u32,
    pub payload: Payload,
}

/// The system that told us and its own id for the fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub system: String,
    pub event_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub email: String,
    pub phone: String,
    pub name: String,
    pub title: String,
}

/// Key account or small/medium business.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Segment {
    #[default]
    Unspecified,
    Ka,
    Smb,
}

impl Segment {
    /// The name used in read models and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Unspecified => "",
            Segment::Ka => "KA",
            Segment::Smb => "SMB",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub name: String,
    pub domain: String,
    pub region: String,
    pub industry: String,
    pub segment: Segment,
    pub employees: u32,
    /// The source system's account id (a CRM's); leads with one are that account, whatever
    /// their domains (`crate::account`). Absent from bodies written before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadSource {
    pub channel: String,
    pub campaign: String,
    pub medium: String,
    pub keyword: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_term: String,
    pub utm_content: String,
    pub landing_page: String,
    pub referrer: String,
    pub offline_activity_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadCaptured {
    /// The person: as the client sent it, or as opened from `sealed` with the lead's data
    /// key; empty when the key is gone (erased, or lost).
    pub contact: Contact,
    pub company: Company,
    pub source: LeadSource,
    /// The contact as the log holds it (schema version 2); `None` for a version-1 capture,
    /// whose contact the log holds in clear.
    #[serde(default)]
    pub sealed: Option<crate::privacy::SealedContact>,
}

impl LeadCaptured {
    /// The e-mail's domain: the sealed contact's, else the clear address's.
    pub fn email_domain(&self) -> String {
        match &self.sealed {
            Some(s) => s.email_domain.clone(),
            None => crate::privacy::email_domain(&self.contact.email),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchRecorded {
    pub channel: String,
    pub campaign: String,
    /// Proto `TouchType` number (0 = unspecified); kept open so new kinds need no reader change.
    pub touch_type: i32,
    pub content_id: String,
    pub keyword: String,
}

/// Who a lead was handed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub team: String,
    pub queue: String,
    pub rep_id: String,
    pub partner_id: String,
}

impl Owner {
    pub fn is_empty(&self) -> bool {
        self.team.is_empty()
            && self.queue.is_empty()
            && self.rep_id.is_empty()
            && self.partner_id.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub stage: Option<crate::Stage>,
    pub rep_id: String,
    pub business_situation: String,
    pub trigger: String,
    pub timeline: String,
    pub risks: String,
    pub competitors: String,
    pub progress: String,
    pub commercial: String,
}

/// Outcome of a proof of concept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PocOutcome {
    Success,
    Failure,
    Abandoned,
}

/// Claim or assign (defined beside the account rules, which rule on both).
pub use crate::account::ownership::OwnershipMode;

/// An intent to change a lead's owner, decided in log order by the projector
/// ([`crate::ownership::decide`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnershipRequest {
    pub mode: OwnershipMode,
    pub rep_id: String,
    /// Kept from the current owner when empty.
    pub team: String,
    pub requested_by: String,
    /// Assign only: the rep the manager expects to own the lead now; empty: any.
    pub expected_rep_id: String,
    /// The account ruling that let it through (`AccountOwnershipRequested`'s id); empty
    /// when no account rule was asked.
    #[serde(default)]
    pub account_ruling: String,
}

impl OwnershipRequest {
    /// The owner once this request is granted: the rep (and their team when given); a
    /// partner or a queue no longer holds the lead. Whether it is granted is
    /// [`crate::ownership::decide`]'s to say.
    pub fn owner_after(&self, current: &Owner) -> Owner {
        Owner {
            team: if self.team.is_empty() {
                current.team.clone()
            } else {
                self.team.clone()
            },
            queue: String::new(),
            rep_id: self.rep_id.clone(),
            partner_id: String::new(),
        }
    }
}

/// What happened.
// A capture is much larger than the other payloads, but events are built once and then
// borrowed; boxing it would only add an allocation per capture.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Payload {
    LeadCaptured(LeadCaptured),
    TouchRecorded(TouchRecorded),
    MqlQualified {
        score: u32,
        reason: String,
    },
    HandedOff(Owner),
    SalesAccepted {
        rep_id: String,
    },
    SalesRejected {
        /// Proto `RejectReason` number, never 0 once validated.
        reason: i32,
        text: String,
        rep_id: String,
    },
    FollowUpLogged {
        /// Proto `ActivityType` number, never 0 once validated.
        activity_type: i32,
        rep_id: String,
        note: String,
    },
    FeedbackRecorded(Feedback),
    PocStarted {
        owner_id: String,
        use_case: String,
    },
    PocCompleted {
        outcome: Option<PocOutcome>,
        notes: String,
    },
    Signed {
        amount_minor: i64,
        currency: String,
        contract_id: String,
    },
    Lost {
        /// In words.
        reason: String,
        competitor: String,
        /// Proto `LossReason` number (0: none given).
        #[serde(default)]
        code: i32,
        #[serde(default)]
        rep_id: String,
    },
    Recycled {
        /// In words.
        reason: String,
        /// Proto `RecycleReason` number (0: none given).
        #[serde(default)]
        code: i32,
        #[serde(default)]
        rep_id: String,
    },
    Disqualified {
        /// In words.
        reason: String,
        /// Proto `DisqualifyReason` number (0: none given).
        #[serde(default)]
        code: i32,
        #[serde(default)]
        rep_id: String,
    },
    /// Money received against the lead's contract.
    PaymentCollected {
        amount_minor: i64,
        currency: String,
        payment_id: String,
        contract_id: String,
    },
    /// The lead's SLA clocks stop counting time (the customer holds things up).
    ClockPaused(ClockPause),
    /// Paused clocks count time again.
    ClockResumed(ClockResume),
    /// Marketing spend: not a fact about a lead (its `lead_id` is the spend's key).
    SpendRecorded(crate::spend::Spend),
    /// Written by the SLA worker.
    SlaAtRisk(SlaAlert),
    /// Written by the SLA worker.
    SlaBreached(SlaAlert),
    /// Written by the router.
    LeadRouted(Routing),
    /// Written by the SLA worker.
    SlaEscalated(Escalation),
    /// Written by the ownership commands; applied by folds only when granted.
    OwnershipRequested(OwnershipRequest),
    /// Written by `EraseContact`: the lead's personal fields are gone.
    ContactErased(crate::privacy::Erasure),
    /// Written by `IdentityService.MergeLeads` (lead id [`crate::identity::KEY`]); takes
    /// effect only when granted.
    MergeRequested(crate::identity::MergeRequest),
    /// Written by `IdentityService.UnmergeLead`, like [`Payload::MergeRequested`].
    UnmergeRequested(crate::identity::UnmergeRequest),
    /// A visitor (the event's key, `~visitor/…`) is a lead: its touches are the lead's
    /// (`crate::identity::visitor`). Sent by clients.
    IdentityLinked(crate::identity::visitor::IdentityLinked),
    /// The lead's contact takes a role on its account's buying committee. Sent by clients.
    ContactRoleAssigned(crate::account::RoleAssigned),
    ReferredBy(crate::account::Referred),
    /// A company on the target-account list (key `~account/…`, no lead's). Sent by clients.
    TargetAccountListed(crate::account::ownership::Listing),
    /// Written by the ownership commands under the lead's account key; ruled on by the
    /// projector in that key's order (`crate::account::ownership::rule`).
    AccountOwnershipRequested(crate::account::ownership::Request),
    /// Who covers an account in a role (key `~account/…`). Sent by clients.
    AccountCoverageAssigned(crate::account::coverage::CoverageAssigned),
    /// A customer account's contract renews on a date (key `~account/…`). Sent by clients.
    RenewalScheduled(crate::account::coverage::RenewalScheduled),
    /// A payload this reader does not know (a newer writer): kept, never folded.
    Unknown {
        event_type: String,
    },
}

impl Payload {
    /// The event type name written to the `ll-event-type` header and the timeline.
    pub fn event_type(&self) -> &str {
        match self {
            Payload::LeadCaptured(_) => "lead_captured",
            Payload::TouchRecorded(_) => "touch_recorded",
            Payload::MqlQualified { .. } => "mql_qualified",
            Payload::HandedOff(_) => "handed_off",
            Payload::SalesAccepted { .. } => "sales_accepted",
            Payload::SalesRejected { .. } => "sales_rejected",
            Payload::FollowUpLogged { .. } => "follow_up_logged",
            Payload::FeedbackRecorded(_) => "feedback_recorded",
            Payload::PocStarted { .. } => "poc_started",
            Payload::PocCompleted { .. } => "poc_completed",
            Payload::Signed { .. } => "signed",
            Payload::Lost { .. } => "lost",
            Payload::Recycled { .. } => "recycled",
            Payload::Disqualified { .. } => "disqualified",
            Payload::PaymentCollected { .. } => "payment_collected",
            Payload::ClockPaused(_) => "clock_paused",
            Payload::ClockResumed(_) => "clock_resumed",
            Payload::SpendRecorded(_) => "spend_recorded",
            Payload::SlaAtRisk(_) => "sla_at_risk",
            Payload::SlaBreached(_) => "sla_breached",
            Payload::LeadRouted(_) => "lead_routed",
            Payload::SlaEscalated(_) => "sla_escalated",
            Payload::OwnershipRequested(_) => "ownership_requested",
            Payload::ContactErased(_) => "contact_erased",
            Payload::MergeRequested(_) => "merge_requested",
            Payload::UnmergeRequested(_) => "unmerge_requested",
            Payload::IdentityLinked(_) => "identity_linked",
            Payload::ContactRoleAssigned(_) => "contact_role_assigned",
            Payload::ReferredBy(_) => "referred_by",
            Payload::TargetAccountListed(_) => "target_account_listed",
            Payload::AccountOwnershipRequested(_) => "account_ownership_requested",
            Payload::AccountCoverageAssigned(_) => "account_coverage_assigned",
            Payload::RenewalScheduled(_) => "renewal_scheduled",
            Payload::Unknown { event_type } => event_type,
        }
    }

    /// Whether leadledger writes this payload itself (clients may not send it).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Payload::SlaAtRisk(_)
                | Payload::SlaBreached(_)
                | Payload::LeadRouted(_)
                | Payload::SlaEscalated(_)
                | Payload::OwnershipRequested(_)
                | Payload::ContactErased(_)
                | Payload::MergeRequested(_)
                | Payload::UnmergeRequested(_)
                | Payload::AccountOwnershipRequested(_)
        )
    }

    /// Whether this is an account's fact (filed under its account key, `~account/…`, no
    /// lead's; [`Payload::client_account`] names the account).
    pub fn is_account(&self) -> bool {
        matches!(
            self,
            Payload::TargetAccountListed(_)
                | Payload::AccountOwnershipRequested(_)
                | Payload::AccountCoverageAssigned(_)
                | Payload::RenewalScheduled(_)
        )
    }

    /// The account a client's account fact names, as sent (its key comes from it).
    pub fn client_account(&self) -> Option<&str> {
        match self {
            Payload::TargetAccountListed(l) => Some(&l.account),
            Payload::AccountCoverageAssigned(c) => Some(&c.account),
            Payload::RenewalScheduled(r) => Some(&r.account),
            _ => None,
        }
    }

    /// Whether this is an identity intent (filed under [`crate::identity::KEY`], no lead's).
    pub fn is_identity(&self) -> bool {
        matches!(
            self,
            Payload::MergeRequested(_) | Payload::UnmergeRequested(_)
        )
    }

    /// Whether this is a visitor's link to a lead (decided by the projector, in its visitor's
    /// log order).
    pub fn is_link(&self) -> bool {
        matches!(self, Payload::IdentityLinked(_))
    }

    /// An exit's reason code number, words and rep (`None` for a fact that is no exit).
    pub fn exit_reason(&self) -> Option<(i32, &str, &str)> {
        match self {
            Payload::SalesRejected {
                reason,
                text,
                rep_id,
            } => Some((*reason, text, rep_id)),
            Payload::Lost {
                reason,
                code,
                rep_id,
                ..
            }
            | Payload::Recycled {
                reason,
                code,
                rep_id,
            }
            | Payload::Disqualified {
                reason,
                code,
                rep_id,
            } => Some((*code, reason, rep_id)),
            _ => None,
        }
    }

    /// The stage this fact moves the lead into, if it is a stage change.
    pub fn target_stage(&self) -> Option<crate::Stage> {
        use crate::Stage;
        Some(match self {
            Payload::LeadCaptured(_) => Stage::Captured,
            Payload::MqlQualified { .. } => Stage::Mql,
            Payload::SalesAccepted { .. } => Stage::Sql,
            Payload::PocStarted { .. } => Stage::Poc,
            Payload::Signed { .. } => Stage::Signed,
            Payload::SalesRejected { .. } => Stage::Rejected,
            Payload::Recycled { .. } => Stage::Recycled,
            Payload::Disqualified { .. } => Stage::Disqualified,
            Payload::Lost { .. } => Stage::Lost,
            _ => return None,
        })
    }
}
