//! The rows of one projection batch.
//!
//! Derived state is never patched incrementally: every lead the batch touches is re-folded
//! from its whole timeline (the stored events and the batch's) in `(occurred_at, event_id)`
//! order, so late and out-of-order facts land exactly where they belong. Before the re-fold,
//! the batch's ownership requests are decided in log order ([`crate::ownership`]) and the
//! re-fold applies the granted ones.

use std::collections::{BTreeMap, HashMap, HashSet};

use leadledger_domain::{fold_with, Event, LeadState, Payload, Transition, Visit};
use leadledger_sla::feedback::LeadFeedback;
use uuid::Uuid;

use crate::clocks::{lead_clocks, ClockRow};
use crate::funnel::{self, LeadCell, Levels};
use crate::ownership::{self, DecisionRow};
use crate::spend::{self, SpendRow};
use crate::{Derivations, Logged};

/// What a batch is projected from.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// The events new to the read models (no id among them is stored or repeated), in the
    /// order they were read.
    pub new: &'a [&'a Logged],
    /// Every stored event of the leads `new` touches (none of `new`'s ids).
    pub stored: Vec<Logged>,
    /// The stored granted ownership requests of those leads. Only needed when one of their
    /// events is a request ([`asks_for_owner`]); may be left empty otherwise.
    pub granted: HashSet<Uuid>,
}

/// Whether any of these events asks for an owner: only then do stored decisions matter.
pub fn asks_for_owner<'a>(events: impl IntoIterator<Item = &'a Logged>) -> bool {
    events
        .into_iter()
        .any(|r| matches!(r.event.payload, Payload::OwnershipRequested(_)))
}

/// The `leads` row of a re-folded lead.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadRow {
    pub tenant: String,
    pub lead: String,
    pub state: LeadState,
    pub feedback: LeadFeedback,
}

/// A lead's stage rows, written only when its stages changed (most facts — touches,
/// follow-ups, feedback, hand-offs — do not move a lead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRows {
    pub tenant: String,
    pub lead: String,
    /// Whether the lead already has stage rows, to be deleted first.
    pub replace: bool,
    pub visits: Vec<Visit>,
    pub transitions: Vec<Transition>,
}

/// Every row one batch writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projected {
    /// New rows of `ownership_decisions`, in log order.
    pub decisions: Vec<DecisionRow>,
    /// One per re-folded lead, in `(tenant, lead)` order: its `leads` row, and the lead
    /// queued for the credits worker.
    pub leads: Vec<LeadRow>,
    /// The leads whose stages changed.
    pub stages: Vec<StageRows>,
    /// The SLA clocks of every re-folded lead (each lead's clocks are replaced: a lead may
    /// lose its clocks), with the lead they belong to.
    pub clocks: Vec<(String, String, ClockRow)>,
    /// The funnel cells the re-folded leads counted in before the batch (leads with stored
    /// events only), and after it.
    pub old_cells: Vec<LeadCell>,
    pub new_cells: Vec<LeadCell>,
    /// The batch's spend statements, the latest per tenant, channel, campaign and period
    /// (spend is no lead's: it is folded into no timeline).
    pub spend: Vec<SpendRow>,
}

impl Projected {
    /// The funnel cells the batch moves, per level.
    pub fn funnel(&self) -> Levels<'_> {
        funnel::deltas(&self.old_cells, &self.new_cells)
    }
}

/// The rows of `batch`, derived with `derive`.
pub fn project(batch: Batch<'_>, derive: &Derivations) -> Projected {
    let Batch {
        new,
        stored,
        mut granted,
    } = batch;
    let decisions = if asks_for_owner(new.iter().copied()) {
        let mut by_lead: HashMap<(&str, &str), Vec<&Logged>> = HashMap::new();
        for r in stored.iter().chain(new.iter().copied()) {
            by_lead.entry(key(&r.event)).or_default().push(r);
        }
        ownership::decide(new, &by_lead, &mut granted)
    } else {
        Vec::new()
    };

    // Per lead, in `(tenant, lead)` order: the stored events (what its current rows were
    // folded from), then the batch's. Spend statements are no lead's.
    let mut timelines: BTreeMap<(String, String), (usize, Vec<Event>)> = BTreeMap::new();
    let stored = stored
        .into_iter()
        .filter(|r| spend::statement(&r.event).is_none());
    for r in stored {
        let k = (r.event.tenant_id.clone(), r.event.lead_id.clone());
        timelines.entry(k).or_default().1.push(r.event);
    }
    for t in timelines.values_mut() {
        t.0 = t.1.len();
    }
    for r in new.iter().filter(|r| spend::statement(&r.event).is_none()) {
        let k = (r.event.tenant_id.clone(), r.event.lead_id.clone());
        timelines.entry(k).or_default().1.push(r.event.clone());
    }

    let mut out = Projected {
        decisions,
        leads: Vec::with_capacity(timelines.len()),
        spend: spend::latest(new.iter().map(|r| &r.event)),
        ..Projected::default()
    };
    for ((tenant, lead), (stored_len, events)) in timelines {
        let st = fold_with(&events, &granted);
        let feedback = derive.feedback(&tenant, &events);
        out.new_cells.push(LeadCell::of_state(&tenant, &st));
        for c in lead_clocks(derive, &tenant, &events, &st) {
            out.clocks.push((tenant.clone(), lead.clone(), c));
        }
        // A lead's stored row is the fold of its stored events, so its old cell and stages
        // come from folding them, without reading `leads` back.
        let replace = stored_len > 0;
        let stages_changed = !replace || {
            let old = fold_with(&events[..stored_len], &granted);
            out.old_cells.push(LeadCell::of_state(&tenant, &old));
            old.visits != st.visits || old.transitions != st.transitions
        };
        if stages_changed {
            out.stages.push(StageRows {
                tenant: tenant.clone(),
                lead: lead.clone(),
                replace,
                visits: st.visits.clone(),
                transitions: st.transitions.clone(),
            });
        }
        out.leads.push(LeadRow {
            tenant,
            lead,
            state: st,
            feedback,
        });
    }
    out
}

fn key(e: &Event) -> (&str, &str) {
    (e.tenant_id.as_str(), e.lead_id.as_str())
}
