//! The batch's ownership requests (`ClaimLead` / `AssignLead` intents), decided in log order.
//!
//! Each intent is decided against the fold of its lead's events that precede it in its
//! partition, with the requests granted before it (stored, or earlier in the batch): so the
//! decision depends on log order alone, and a replay decides the same. The rules themselves
//! are the domain's ([`leadledger_domain::ownership::decide`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadledger_domain::event::OwnershipRequest;
use leadledger_domain::{fold_with, ownership, Payload};
use uuid::Uuid;

use crate::Logged;

/// One row of `ownership_decisions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    pub intent_id: Uuid,
    pub tenant: String,
    pub lead: String,
    pub partition: i32,
    pub offset: i64,
    /// `claim` or `assign`.
    pub mode: &'static str,
    pub rep_id: String,
    pub team: String,
    pub requested_by: String,
    pub expected_rep_id: String,
    pub requested_at: DateTime<Utc>,
    pub granted: bool,
    pub owner_before: String,
    pub reason: String,
}

/// Decides the intents among `new` in `(partition, offset)` order. `by_lead` holds every
/// event of each lead the read models hold once the batch's are in (stored and new);
/// `granted` holds the requests granted so far and gains those granted here.
pub(crate) fn decide(
    new: &[&Logged],
    by_lead: &HashMap<(&str, &str), Vec<&Logged>>,
    granted: &mut HashSet<Uuid>,
) -> Vec<DecisionRow> {
    let mut intents: Vec<(&Logged, &OwnershipRequest)> = new
        .iter()
        .filter_map(|r| match &r.event.payload {
            Payload::OwnershipRequested(req) => Some((*r, req)),
            _ => None,
        })
        .collect();
    intents.sort_by_key(|(r, _)| (r.partition, r.offset));
    let mut rows = Vec::with_capacity(intents.len());
    for (r, req) in intents {
        let e = &r.event;
        // Refused intents are not facts about the lead: left in, a refused claim on an
        // unknown lead would make the next claim see "a lead with one event" and grant it.
        let before = by_lead
            .get(&(e.tenant_id.as_str(), e.lead_id.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|b| b.partition == r.partition && b.offset < r.offset)
            .map(|b| &b.event)
            .filter(|b| {
                !matches!(b.payload, Payload::OwnershipRequested(_))
                    || granted.contains(&b.event_id)
            });
        let state = fold_with(before, granted);
        // No lead's key (an anonymous visitor's, spend's): nothing to own, and a request
        // granted there would become its lead's once a visitor is linked.
        let d = if e.lead_id.starts_with('~') {
            ownership::Decision {
                granted: false,
                owner_before: String::new(),
                reason: format!("no such lead: `{}` is no lead's id", e.lead_id),
            }
        } else {
            ownership::decide(&state, req)
        };
        if d.granted {
            granted.insert(e.event_id);
        }
        rows.push(DecisionRow {
            intent_id: e.event_id,
            tenant: e.tenant_id.clone(),
            lead: e.lead_id.clone(),
            partition: r.partition,
            offset: r.offset,
            mode: req.mode.as_str(),
            rep_id: req.rep_id.clone(),
            team: req.team.clone(),
            requested_by: req.requested_by.clone(),
            expected_rep_id: req.expected_rep_id.clone(),
            requested_at: e.occurred_at,
            granted: d.granted,
            owner_before: d.owner_before,
            reason: d.reason,
        });
    }
    rows
}
