//! The rows of one projection batch.
//!
//! Derived state is never patched incrementally: every lead the batch touches is re-folded
//! from its whole timeline (the stored events and the batch's) in `(occurred_at, event_id)`
//! order, so late and out-of-order facts land exactly where they belong. Before the re-fold,
//! the batch's ownership requests are decided in log order ([`crate::ownership`]) and the
//! re-fold applies the granted ones.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use leadledger_domain::identity::visitor;
use leadledger_domain::{fold_with, Event, LeadState, Payload, Transition, Visit};
use leadledger_sla::feedback::LeadFeedback;
use uuid::Uuid;

use crate::clocks::{lead_clocks, ClockRow};
use crate::funnel::{self, LeadCell, Levels};
use crate::identity::{LeadKey, Regroup};
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
    /// Which timeline each lead's facts belong to (merges), after the batch's identity
    /// decisions and before them. `stored` holds every event of every member of the groups
    /// of the leads `new` touches, and of the groups the decisions changed.
    pub regroup: Regroup,
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
    /// The lead's id (a survivor's, for merged leads: its timeline holds theirs).
    pub lead: String,
    /// The leads merged into it whose facts the batch read, in id order.
    pub merged: Vec<String>,
    pub state: LeadState,
    pub feedback: LeadFeedback,
    /// Its contact or company domain may differ from its stored row's (a new lead, a
    /// regrouped one, a capture or an erasure in the batch): its duplicate keys are written
    /// again. Most facts change neither, and their leads' keys are left alone.
    pub contact_changed: bool,
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
    /// Leads that have no timeline of their own any more (merged into another, or a survivor
    /// left without facts): their `leads` row, stages and clocks go, and the credits worker
    /// recomputes them. In `(tenant, lead)` order.
    pub removed: Vec<LeadKey>,
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
        regroup,
    } = batch;
    // Ownership requests are decided against their own lead's facts (its partition's order),
    // never against a merged group's, which span partitions.
    let decisions = if asks_for_owner(new.iter().copied()) {
        let mut by_lead: HashMap<(&str, &str), Vec<&Logged>> = HashMap::new();
        for r in stored.iter().chain(new.iter().copied()) {
            by_lead.entry(key(&r.event)).or_default().push(r);
        }
        ownership::decide(new, &by_lead, &mut granted)
    } else {
        Vec::new()
    };
    let changed = regroup.changed();

    // Per root (the survivor of merged leads), in `(tenant, lead)` order: the stored events
    // (what its current rows were folded from, unless its group changed), then the batch's.
    // Spend statements, identity intents, account facts and visitors' links are no lead's (a link alone
    // makes no lead: its visitor's touches do).
    let is_lead_fact = |e: &Event| {
        spend::statement(e).is_none()
            && !e.payload.is_identity()
            && !e.payload.is_link()
            && !e.payload.is_account()
    };
    let mut timelines: BTreeMap<LeadKey, Timeline> = BTreeMap::new();
    // The groups the batch changed, as they were: their stored events by the root before.
    let mut before: BTreeMap<LeadKey, Vec<Event>> = BTreeMap::new();
    for r in stored
        .iter()
        .filter(|r| !changed.is_empty() && is_lead_fact(&r.event))
    {
        let (t, l) = key(&r.event);
        let was = (t.to_string(), regroup.root_before(t, l).to_string());
        if changed.contains(&was) {
            before.entry(was).or_default().push(r.event.clone());
        }
    }
    for r in stored.into_iter().filter(|r| is_lead_fact(&r.event)) {
        push(&mut timelines, &regroup, r.event);
    }
    for t in timelines.values_mut() {
        t.stored = t.events.len();
    }
    for r in new.iter().filter(|r| is_lead_fact(&r.event)) {
        push(&mut timelines, &regroup, r.event.clone());
    }

    let mut out = Projected {
        decisions,
        leads: Vec::with_capacity(timelines.len()),
        spend: spend::latest(new.iter().map(|r| &r.event)),
        ..Projected::default()
    };
    // A changed group's old rows are the fold of its stored events as they were grouped (a
    // visitor alone had none: it is no lead).
    for ((tenant, _), events) in before.iter().filter(|((_, l), _)| !visitor::is_visitor(l)) {
        let old = fold_with(events, &granted);
        out.old_cells.push(LeadCell::of_state(tenant, &old));
    }
    for ((tenant, lead), t) in timelines {
        // A visitor not linked to a lead has its timeline only.
        if visitor::is_visitor(&lead) {
            continue;
        }
        let Timeline {
            stored: stored_len,
            events,
            merged,
        } = t;
        let regrouped = changed.contains(&(tenant.clone(), lead.clone()));
        let st = fold_with(&events, &granted);
        let feedback = derive.feedback(&tenant, &events);
        out.new_cells.push(LeadCell::of_state(&tenant, &st));
        for c in lead_clocks(derive, &tenant, &events, &st) {
            out.clocks.push((tenant.clone(), lead.clone(), c));
        }
        // A lead's stored row is the fold of its stored events, so its old cell and stages
        // come from folding them, without reading `leads` back.
        let (replace, stages_changed, contact_changed) = if regrouped {
            (true, true, true)
        } else if stored_len == 0 {
            (false, true, true)
        } else {
            let old = fold_with(&events[..stored_len], &granted);
            out.old_cells.push(LeadCell::of_state(&tenant, &old));
            (
                true,
                old.visits != st.visits || old.transitions != st.transitions,
                // An erasure is also a change when the stored capture no longer opens (its
                // key is destroyed before the erasure's fact is applied).
                events[stored_len..].iter().any(|e| {
                    matches!(
                        e.payload,
                        Payload::LeadCaptured(_) | Payload::ContactErased(_)
                    )
                }) || old.contact != st.contact
                    || old.company.domain != st.company.domain,
            )
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
            merged: merged.into_iter().collect(),
            state: st,
            feedback,
            contact_changed,
        });
    }
    // Changed roots left without a timeline of their own lose their rows.
    out.removed = changed
        .into_iter()
        .filter(|(t, l)| {
            !visitor::is_visitor(l)
                && out
                    .leads
                    .binary_search_by(|r| (r.tenant.as_str(), r.lead.as_str()).cmp(&(t, l)))
                    .is_err()
        })
        .collect();
    for (tenant, lead) in &out.removed {
        out.stages.push(StageRows {
            tenant: tenant.clone(),
            lead: lead.clone(),
            replace: true,
            visits: Vec::new(),
            transitions: Vec::new(),
        });
    }
    out
}

/// One root's events, as [`project`] gathers them.
#[derive(Debug, Default)]
struct Timeline {
    /// How many of `events` are stored (they come first).
    stored: usize,
    events: Vec<Event>,
    /// The merged leads among the events' leads.
    merged: BTreeSet<String>,
}

/// Files `e` under its root's timeline, as a fact of the root (its `lead_id` rewritten: the
/// fold, clocks and attribution then see one lead).
fn push(timelines: &mut BTreeMap<LeadKey, Timeline>, regroup: &Regroup, mut e: Event) {
    let survivor = {
        let root = regroup.root(&e.tenant_id, &e.lead_id);
        (root != e.lead_id).then(|| root.to_string())
    };
    let merged = survivor.map(|s| std::mem::replace(&mut e.lead_id, s));
    let t = timelines
        .entry((e.tenant_id.clone(), e.lead_id.clone()))
        .or_default();
    t.merged.extend(merged);
    t.events.push(e);
}

fn key(e: &Event) -> (&str, &str) {
    (e.tenant_id.as_str(), e.lead_id.as_str())
}
