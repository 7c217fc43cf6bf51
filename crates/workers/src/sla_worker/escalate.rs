//! The escalation steps of one tick: clocks whose next step is due → `SlaEscalated` events.
//!
//! A step tells people and may move the lead. Who is told depends on the roster (the policy
//! file) and the lead's owner; where a `next_rep` step moves the lead depends on the reps'
//! records in the read models, which a replay could not re-read as they were. So, like a
//! routing, the step is decided once, here, and recorded with its inputs (the owner it saw,
//! the recipients, the weights and skipped reps); the projector and every replay only read it.
//!
//! # Rules
//! - A step the tenant's policy file no longer has (the file changed since the clock was
//!   projected) is skipped for the rest of the term, with a warning.
//! - A lead is not moved when it is closed (signed, lost, disqualified), when its owner
//!   changed after the step's instant (someone decided meanwhile), when `pool` finds it in
//!   the pool already, or when the routing rule gives it the owner it has; the step is still
//!   taken (its recipients are told) and the fact says why in `unresolved`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadledger_domain::event::{Escalation, Owner, Reassignment};
use leadledger_domain::{ids, Event, Payload};
use leadledger_sla::escalation::{recipients, EscalationStep, Reassign};
use leadledger_sla::{assign, RepRecord, RoutingSetup, TenantPolicies};
use leadledger_store::due::{self, DueEscalation, RepStats};
use sqlx::PgConnection;
use uuid::Uuid;

use super::route::{describe, lead_facts, open_in_flight, record};
use super::{internal_event, Pending, SlaError, ALERT_SOURCE};

/// What a `next_rep` step records for the rep it leaves out.
const LATE_REP: &str = "the rep the lead is escalated from";

/// Decides up to `chunk` due steps not appended yet (neither applied nor `pending`); steps
/// missing from the policy file are added to `ignored` and skipped. Returns each
/// `SlaEscalated` event with the rep it gave the lead to, if any.
pub(super) async fn decide(
    conn: &mut PgConnection,
    policies: &TenantPolicies,
    pending: &HashMap<Uuid, Pending>,
    ignored: &mut HashSet<Uuid>,
    chunk: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(Event, Option<String>)>, SlaError> {
    // Steps appended but not applied yet (and ignored ones) still look due: look past them.
    let in_flight = pending
        .values()
        .filter(|p| matches!(p, Pending::Escalated { .. }))
        .count()
        + ignored.len();
    let limit = chunk.saturating_add(i64::try_from(in_flight).unwrap_or(i64::MAX));
    let mut todo: Vec<(DueEscalation, Uuid, &EscalationStep, u32)> = Vec::new();
    for row in due::due_escalations(conn, now, limit).await? {
        let id = ids::escalation_id(row.start_event_id, &row.policy_id, &row.escalation_step);
        if pending.contains_key(&id) || ignored.contains(&id) {
            continue;
        }
        let set = policies.for_tenant(&row.tenant_id);
        let found = set
            .policies
            .iter()
            .find(|p| p.id == row.policy_id)
            .and_then(|p| {
                p.escalation
                    .iter()
                    .find(|s| s.id == row.escalation_step)
                    .map(|s| (s, p.version))
            });
        let Some((step, version)) = found else {
            tracing::warn!(
                tenant = %row.tenant_id,
                lead = %row.lead_id,
                policy = %row.policy_id,
                step = %row.escalation_step,
                "SLA worker: the clock's escalation step is not in the policy file any more; \
                 skipped until the lead is projected again"
            );
            ignored.insert(id);
            continue;
        };
        todo.push((row, id, step, version));
        if todo.len() >= usize::try_from(chunk).unwrap_or(usize::MAX) {
            break;
        }
    }
    if todo.is_empty() {
        return Ok(Vec::new());
    }

    let mut roster: Vec<String> = todo
        .iter()
        .filter(|(_, _, s, _)| s.reassign == Some(Reassign::NextRep))
        .filter_map(|(r, ..)| policies.for_tenant(&r.tenant_id).routing.as_ref())
        .flat_map(|s| s.reps.iter().map(|r| r.rep_id.clone()))
        .collect();
    roster.sort();
    roster.dedup();
    let stats = if roster.is_empty() {
        HashMap::new()
    } else {
        due::rep_stats(conn, &roster).await?
    };
    let mut extra = open_in_flight(pending);

    let mut out = Vec::with_capacity(todo.len());
    for (row, id, step, version) in todo {
        let setup = policies.for_tenant(&row.tenant_id).routing.as_ref();
        let owner = Owner {
            team: row.owner_team.clone(),
            queue: row.owner_queue.clone(),
            rep_id: row.owner_rep_id.clone(),
            partner_id: row.owner_partner_id.clone(),
        };
        let (notify, mut unresolved) = recipients(step, &owner, setup);
        let reassignment = match step.reassign {
            None => None,
            Some(how) => match why_not_moved(&row, &owner, how) {
                Some(why) => {
                    unresolved.push(why);
                    None
                }
                None => {
                    let moved = match how {
                        Reassign::Pool => Some(pool(&owner)),
                        Reassign::NextRep => {
                            setup.and_then(|s| next_rep(&row, &owner, s, &stats, &extra, id))
                        }
                    };
                    match moved {
                        Some(r) if r.to != owner => Some(r),
                        _ => {
                            unresolved.push(
                                "reassign: the routing rule gives the lead the owner it has".into(),
                            );
                            None
                        }
                    }
                }
            },
        };
        let rep = reassignment
            .as_ref()
            .map(|r| r.to.rep_id.clone())
            .filter(|r| !r.is_empty());
        if let Some(rep) = &rep {
            *extra
                .entry((row.tenant_id.clone(), rep.clone()))
                .or_default() += 1;
        }
        let x = Escalation {
            policy_id: row.policy_id.clone(),
            policy_version: version,
            start_event_id: row.start_event_id,
            started_at: row.started_at,
            due_at: row.due_at,
            step_id: step.id.clone(),
            trigger: step.trigger,
            after_seconds: step.after.num_seconds(),
            owner,
            notify,
            unresolved,
            reassignment,
        };
        let event = internal_event(
            id,
            &row.tenant_id,
            &row.lead_id,
            row.escalation_at,
            now,
            ALERT_SOURCE,
            Payload::SlaEscalated(x),
        );
        out.push((event, rep));
    }
    Ok(out)
}

/// Why a step that reassigns leaves the lead where it is, if it does.
fn why_not_moved(row: &DueEscalation, owner: &Owner, how: Reassign) -> Option<String> {
    if matches!(row.stage.as_str(), "signed" | "lost" | "disqualified") {
        return Some(format!("reassign: the lead is closed ({})", row.stage));
    }
    if let Some(since) = row.owner_since.filter(|s| *s > row.escalation_at) {
        return Some(format!(
            "reassign: the lead changed owner at {}, after the step's instant",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    if how == Reassign::Pool && owner.rep_id.is_empty() && owner.partner_id.is_empty() {
        return Some("reassign: the lead is in the pool already".into());
    }
    None
}

/// Back to the pool: the team (or queue) without its rep or partner.
fn pool(owner: &Owner) -> Reassignment {
    let to = Owner {
        team: owner.team.clone(),
        queue: owner.queue.clone(),
        rep_id: String::new(),
        partner_id: String::new(),
    };
    let whose = match (to.team.as_str(), to.queue.as_str()) {
        ("", "") => "the open pool".to_string(),
        ("", q) => format!("queue `{q}`"),
        (t, _) => format!("team `{t}`"),
    };
    Reassignment {
        to,
        mode: Reassign::Pool.as_str().into(),
        rule_id: String::new(),
        reason: format!("back to the pool of {whose}"),
        weights: Vec::new(),
        skipped: Vec::new(),
    }
}

/// The routing rule's target and rotation for the lead, the late rep left out (seeded by the
/// step's event id, so each step draws independently of the MQL's routing).
fn next_rep(
    row: &DueEscalation,
    owner: &Owner,
    setup: &RoutingSetup,
    stats: &HashMap<(String, String), RepStats>,
    extra: &HashMap<(String, String), u32>,
    seed: Uuid,
) -> Option<Reassignment> {
    let records: Vec<RepRecord> = setup
        .reps
        .iter()
        .map(|r| {
            let key = (row.tenant_id.clone(), r.rep_id.clone());
            let mut rec = record(r, stats.get(&key), extra.get(&key).copied().unwrap_or(0));
            if r.rep_id == owner.rep_id {
                rec.available = false;
            }
            rec
        })
        .collect();
    let facts = lead_facts(&row.region, &row.industry, &row.segment, &row.channel);
    let a = assign(&facts, &setup.rules, &records, seed);
    Some(Reassignment {
        to: a.owner(),
        mode: Reassign::NextRep.as_str().into(),
        rule_id: a.rule_id.clone().unwrap_or_default(),
        reason: match &a.rep_id {
            Some(rep) => format!("{}; rep `{rep}` by rotation", a.reason),
            None => format!("{}; no eligible rep: the team's pool", a.reason),
        },
        weights: a.weights.clone(),
        skipped: a
            .skipped
            .iter()
            .map(|(rep, why)| {
                let why = if *rep == owner.rep_id {
                    LATE_REP.to_string()
                } else {
                    describe(why)
                };
                (rep.clone(), why)
            })
            .collect(),
    })
}
