//! The lifecycle fold: a lead's derived state as a pure function of its timeline.
//!
//! Facts arrive late, duplicated and out of order from several systems, so the state is
//! never updated incrementally from arrival order: [`fold`] sorts the whole timeline by
//! `(occurred_at, event_id)`, drops duplicate ids and replays it. The same set of events
//! always gives the same state, whatever order they were appended in (property-tested).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::{AccountKey, ContactRole};
use crate::event::{Company, Contact, Event, LeadSource, Owner, Payload, PocOutcome};
use crate::reason::{code_name, Exit};
use crate::stage::{Stage, TransitionKind};

/// One stay in a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub stage: Stage,
    pub entered_at: DateTime<Utc>,
    pub exited_at: Option<DateTime<Utc>>,
}

/// One stage change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: Option<Stage>,
    pub to: Stage,
    pub at: DateTime<Utc>,
    pub event_id: Uuid,
    pub kind: TransitionKind,
    pub skipped: Vec<Stage>,
    /// For an exit (rejected, recycled, disqualified, lost): why, who and how far.
    pub exit: Option<Exit>,
}

/// A lead's derived state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadState {
    /// Current stage; `None` when no stage-changing fact has arrived yet (e.g. only touches).
    pub stage: Option<Stage>,
    pub owner: Owner,
    /// Business time of the last owner change (hand-off, routing, acceptance by another rep,
    /// a granted claim or assignment); `None` when nobody owns the lead.
    pub owner_since: Option<DateTime<Utc>>,
    /// The first capture's contact; empty after an erasure that follows it.
    pub contact: Contact,
    /// The first capture's e-mail domain (not personal: kept through an erasure).
    pub email_domain: String,
    /// Business time of the latest erasure of the contact (`ContactErased`).
    pub contact_erased_at: Option<DateTime<Utc>>,
    pub company: Company,
    pub source: LeadSource,
    /// Business time of the earliest capture.
    pub captured_at: Option<DateTime<Utc>>,
    pub visits: Vec<Visit>,
    pub transitions: Vec<Transition>,
    /// Highest main-line rank ever entered (0 = none). Funnels count "reached or beyond".
    pub max_rank: u8,
    /// First entry into each main-line stage, by rank - 1.
    pub first_entered: [Option<DateTime<Utc>>; 5],
    pub signed_amount_minor: i64,
    pub signed_currency: String,
    /// Payments received, by currency, in minor units (whatever the stage).
    pub collected: BTreeMap<String, i64>,
    pub poc_outcome: Option<PocOutcome>,
    /// Distinct events, including ones of unknown type.
    pub event_count: u32,
    /// Events of a type this reader does not know (kept, not folded).
    pub unknown_count: u32,
    pub last_event_at: Option<DateTime<Utc>>,
    pub touch_count: u32,
    pub follow_up_count: u32,
    /// Business time of the first sales follow-up.
    pub first_follow_up_at: Option<DateTime<Utc>>,
    /// The contact's role on its account's buying committee (the latest `ContactRoleAssigned`
    /// in timeline order), and when it was given; `None` before any, or for a role number
    /// this reader does not know.
    pub contact_role: Option<ContactRole>,
    pub contact_role_at: Option<DateTime<Utc>>,
    /// Whether that latest assignment says the contact is its account's primary one, and
    /// when the contact was last made primary (kept through later assignments). The account's
    /// primary contact is the lead made primary last, while its own latest assignment still
    /// says so (docs/IDENTITY.md).
    pub primary_contact: bool,
    pub primary_since: Option<DateTime<Utc>>,
}

impl LeadState {
    /// When the lead first entered `stage` (main line only).
    pub fn entered(&self, stage: Stage) -> Option<DateTime<Utc>> {
        stage
            .rank()
            .and_then(|r| self.first_entered[usize::from(r) - 1])
    }

    /// What has been collected of the contract: the payments in the signed currency, 0 until
    /// the lead is signed (the revenue equation's collected revenue, docs/ANALYTICS.md).
    pub fn collected_minor(&self) -> i64 {
        if self.max_rank < 5 {
            return 0;
        }
        self.collected
            .get(&self.signed_currency)
            .copied()
            .unwrap_or(0)
    }

    /// The account of this lead, `lead_id` (an explicit account id, else its employer's
    /// domain, else itself: [`crate::account::account_key`]).
    pub fn account(&self, lead_id: &str) -> AccountKey {
        crate::account::account_key(
            lead_id,
            &self.company.account_id,
            &self.company.domain,
            &self.email_domain,
        )
    }

    /// Whether the lead reached `stage` or a later main-line stage.
    pub fn reached(&self, stage: Stage) -> bool {
        stage.rank().is_some_and(|r| self.max_rank >= r)
    }
}

/// A lead's timeline as every fold reads it: one version per event id, in
/// `(occurred_at, event_id)` order, whatever order and duplicates the input has.
pub fn timeline<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<&'a Event> {
    let mut sorted: Vec<&Event> = events.into_iter().collect();
    // Duplicates first: one version per id wherever the copies sit in time (the earliest, and
    // among equal times the smallest by content, so the choice never depends on input order).
    sorted.sort_by(|a, b| {
        (a.event_id, a.occurred_at)
            .cmp(&(b.event_id, b.occurred_at))
            .then_with(|| format!("{:?}", a.payload).cmp(&format!("{:?}", b.payload)))
    });
    sorted.dedup_by_key(|e| e.event_id);
    sorted.sort_by_key(|e| (e.occurred_at, e.event_id));
    sorted
}

/// Folds a lead's events (any order, duplicates allowed) into its state. Ownership requests
/// count as not granted; see [`fold_with`].
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> LeadState {
    fold_with(events, &HashSet::new())
}

/// Like [`fold`], applying the `OwnershipRequested` events whose ids are in `granted`.
///
/// Whether a request is granted is decided once, in log order, by
/// [`crate::ownership::decide`] and stored; the fold takes the decisions as input because
/// they depend on log order, which a business-time fold cannot see.
pub fn fold_with<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    granted: &HashSet<Uuid>,
) -> LeadState {
    let mut st = LeadState::default();
    for e in timeline(events) {
        apply(&mut st, e, granted);
    }
    st
}

fn set_owner(st: &mut LeadState, owner: Owner, at: DateTime<Utc>) {
    if st.owner != owner {
        st.owner_since = (!owner.is_empty()).then_some(at);
        st.owner = owner;
    }
}

fn apply(st: &mut LeadState, e: &Event, granted: &HashSet<Uuid>) {
    // A visitor's link says whose touches these are; it is no fact about the lead (the
    // lead's row is then the one it would be had its touches been told under it).
    if e.payload.is_link() {
        return;
    }
    // An exit's why, who and how far, as things stood before this fact (a recycle clears
    // the owner below).
    let exit =
        e.payload
            .target_stage()
            .zip(e.payload.exit_reason())
            .map(|(to, (code, text, rep))| Exit {
                // A number this reader does not know is validated away at ingest; one in the log
                // anyway (a newer writer) reads as `other`.
                code: code_name(to, code).unwrap_or("other").to_string(),
                text: text.to_string(),
                rep_id: if rep.is_empty() {
                    st.owner.rep_id.clone()
                } else {
                    rep.to_string()
                },
                team: st.owner.team.clone(),
                reached: Stage::MAIN_LINE
                    .into_iter()
                    .find(|s| s.rank() == Some(st.max_rank)),
            });
    st.event_count += 1;
    // An erasure, or a CRM's role sync, is no activity on the lead (a stale lead stays
    // stale).
    if !matches!(
        e.payload,
        Payload::ContactErased(_) | Payload::ContactRoleAssigned(_)
    ) {
        st.last_event_at = Some(
            st.last_event_at
                .map_or(e.occurred_at, |t| t.max(e.occurred_at)),
        );
    }
    if e.schema_version > crate::SCHEMA_VERSION {
        st.unknown_count += 1;
        return;
    }
    match &e.payload {
        Payload::Unknown { .. } => {
            st.unknown_count += 1;
            return;
        }
        Payload::LeadCaptured(c) if st.captured_at.is_none() => {
            st.captured_at = Some(e.occurred_at);
            st.contact = c.contact.clone();
            st.email_domain = c.email_domain();
            st.company = c.company.clone();
            st.source = c.source.clone();
        }
        // A later capture is data, not the lead's company, but for the source system's account
        // id when the lead had none: the explicit account wins when given.
        Payload::LeadCaptured(c)
            if st.company.account_id.is_empty() && !c.company.account_id.is_empty() =>
        {
            st.company.account_id.clone_from(&c.company.account_id);
        }
        Payload::ContactRoleAssigned(r) => {
            st.contact_role = ContactRole::from_number(r.role);
            st.contact_role_at = Some(e.occurred_at);
            st.primary_contact = r.primary;
            if r.primary {
                st.primary_since = Some(e.occurred_at);
            }
        }
        Payload::TouchRecorded(_) => st.touch_count += 1,
        Payload::HandedOff(owner) => set_owner(st, owner.clone(), e.occurred_at),
        Payload::LeadRouted(r) => set_owner(st, r.owner.clone(), e.occurred_at),
        // Only while the lead still has the owner the step was taken against: an owner
        // decided meanwhile (an assignment, a claim, a hand-off) is not overridden.
        Payload::SlaEscalated(x) => {
            if let Some(to) = x.owner_after(&st.owner) {
                set_owner(st, to.clone(), e.occurred_at);
            }
        }
        Payload::OwnershipRequested(req) if granted.contains(&e.event_id) => {
            let owner = req.owner_after(&st.owner);
            set_owner(st, owner, e.occurred_at);
        }
        Payload::SalesAccepted { rep_id } if !rep_id.is_empty() => {
            let mut owner = st.owner.clone();
            owner.rep_id.clone_from(rep_id);
            set_owner(st, owner, e.occurred_at);
        }
        Payload::FollowUpLogged { .. } => {
            st.follow_up_count += 1;
            st.first_follow_up_at.get_or_insert(e.occurred_at);
        }
        Payload::PocCompleted { outcome, .. } => st.poc_outcome = *outcome,
        Payload::Signed {
            amount_minor,
            currency,
            ..
        } => {
            st.signed_amount_minor = *amount_minor;
            st.signed_currency = currency.clone();
        }
        Payload::PaymentCollected {
            amount_minor,
            currency,
            ..
        } => {
            // Each receipt is at most 10^15 (validated); saturating keeps a hostile
            // timeline from wrapping.
            let sum = st.collected.entry(currency.clone()).or_default();
            *sum = sum.saturating_add(*amount_minor);
        }
        Payload::Recycled { .. } => set_owner(st, Owner::default(), e.occurred_at),
        Payload::ContactErased(_) => {
            st.contact = Contact::default();
            st.contact_erased_at = Some(e.occurred_at);
        }
        _ => {}
    }
    if let Some(to) = e.payload.target_stage() {
        enter(st, to, e, exit);
    }
}

fn enter(st: &mut LeadState, to: Stage, e: &Event, exit: Option<Exit>) {
    // A capture only opens the lifecycle; a later capture of a lead already in the funnel
    // (another form fill) is data, not a move back to "captured".
    if to == Stage::Captured && st.stage.is_some() {
        return;
    }
    if st.stage == Some(to) {
        return;
    }
    let (kind, skipped) = TransitionKind::classify(st.stage, to);
    if let Some(open) = st.visits.last_mut() {
        open.exited_at = Some(e.occurred_at);
    }
    st.visits.push(Visit {
        stage: to,
        entered_at: e.occurred_at,
        exited_at: None,
    });
    st.transitions.push(Transition {
        from: st.stage,
        to,
        at: e.occurred_at,
        event_id: e.event_id,
        kind,
        skipped,
        exit,
    });
    if let Some(rank) = to.rank() {
        st.max_rank = st.max_rank.max(rank);
        st.first_entered[usize::from(rank) - 1].get_or_insert(e.occurred_at);
    }
    st.stage = Some(to);
}
