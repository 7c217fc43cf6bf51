//! The routing decisions of one tick: unowned MQLs → `LeadRouted` events.
//!
//! A rep's weight depends on read models that span every partition (follow-up speed,
//! feedback, conversion, open leads); a replay could not re-read them as they were, in the
//! same order. So the decision is made once, here, and recorded in the log with its inputs
//! (the weights, the skipped reps); the projector and every replay only read it.
//!
//! A lead whose account another rep owns, under an account rule that gives the account's
//! leads to its owner (`ownership.account_rules`), goes to that owner, not to a rotation:
//! the routing names the rule (`rule_id` = `account_owner` or `first_claim`) and why.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadledger_domain::account::ownership::{owner_under, Rules};
use leadledger_domain::event::{Owner, Routing, Segment};
use leadledger_domain::{ids, Event, Payload};
use leadledger_sla::routing::{LeadFacts, SkipReason};
use leadledger_sla::{assign, RepRecord, TenantPolicies};
use leadledger_store::due::{self, Candidate, RepStats};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{internal_event, Pending, SlaError, ROUTER_SOURCE};

/// No history yet (routing.rs documents these as the neutral values).
const NEUTRAL_FOLLOW_UP_HOURS: f64 = 24.0;
const NEUTRAL_COMPLETENESS: f64 = 0.5;
const NEUTRAL_CONVERSION: f64 = 0.0;

/// Routes up to `chunk` unowned MQLs not routed yet (neither applied nor `pending`).
/// Returns each `LeadRouted` event with the rep it gave the lead to.
pub(super) async fn decide(
    conn: &mut PgConnection,
    policies: &TenantPolicies,
    account_rules: &Rules,
    pending: &HashMap<Uuid, Pending>,
    chunk: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(Event, Option<String>)>, SlaError> {
    let (default_routes, routing, not_routing) = policies.routing_tenants();
    if !default_routes && routing.is_empty() {
        return Ok(Vec::new());
    }
    // Leads routed but not applied yet still look unowned: look past them.
    let in_flight = pending
        .values()
        .filter(|p| matches!(p, Pending::Routed { .. }))
        .count();
    let limit = chunk.saturating_add(i64::try_from(in_flight).unwrap_or(i64::MAX));
    let candidates = due::routing_candidates(
        conn,
        &due::RoutingTenants {
            all_but: default_routes.then_some(not_routing.as_slice()),
            only: &routing,
        },
        limit,
    )
    .await?;
    let ids: Vec<Uuid> = candidates
        .iter()
        .map(|c| ids::routed_id(c.mql_event_id))
        .collect();
    let applied = due::applied(conn, &ids).await?;
    let todo: Vec<(Candidate, Uuid)> = candidates
        .into_iter()
        .zip(ids)
        .filter(|(_, id)| !pending.contains_key(id) && !applied.contains(id))
        .take(usize::try_from(chunk).unwrap_or(usize::MAX))
        .collect();
    if todo.is_empty() {
        return Ok(Vec::new());
    }

    let mut roster: Vec<String> = todo
        .iter()
        .filter_map(|(c, _)| policies.for_tenant(&c.tenant_id).routing.as_ref())
        .flat_map(|s| s.reps.iter().map(|r| r.rep_id.clone()))
        .collect();
    roster.sort();
    roster.dedup();
    let stats = due::rep_stats(conn, &roster).await?;
    // Open leads the read models do not show yet: routed earlier (pending) or in this tick.
    let mut extra = open_in_flight(pending);

    let mut out = Vec::with_capacity(todo.len());
    for (c, id) in todo {
        let Some(setup) = policies.for_tenant(&c.tenant_id).routing.as_ref() else {
            continue;
        };
        let records: Vec<RepRecord> = setup
            .reps
            .iter()
            .map(|r| {
                let key = (c.tenant_id.clone(), r.rep_id.clone());
                let open = extra.get(&key).copied().unwrap_or(0);
                record(r, stats.get(&key), open)
            })
            .collect();
        // A lead whose account's rule names its owner goes to the owner; any other to the
        // routing rules.
        let (routing, rep) = match to_account_owner(&c, account_rules) {
            Some(routing) => {
                let rep = Some(routing.owner.rep_id.clone());
                (routing, rep)
            }
            None => {
                let facts = lead_facts(&c.region, &c.industry, &c.segment, &c.channel);
                let a = assign(&facts, &setup.rules, &records, c.mql_event_id);
                let routing = Routing {
                    owner: a.owner(),
                    rule_id: a.rule_id.clone().unwrap_or_default(),
                    reason: a.reason.clone(),
                    weights: a.weights.clone(),
                    skipped: a
                        .skipped
                        .iter()
                        .map(|(rep, why)| (rep.clone(), describe(why)))
                        .collect(),
                    mql_event_id: c.mql_event_id,
                };
                (routing, a.rep_id)
            }
        };
        if let Some(rep) = &rep {
            *extra.entry((c.tenant_id.clone(), rep.clone())).or_default() += 1;
        }
        let event = internal_event(
            id,
            &c.tenant_id,
            &c.lead_id,
            c.mql_at,
            now,
            ROUTER_SOURCE,
            Payload::LeadRouted(routing),
        );
        out.push((event, rep));
    }
    Ok(out)
}

/// The routing of `c` to its account's owner, when its account's rule gives the account's
/// leads to an owner and someone owns it.
fn to_account_owner(c: &Candidate, rules: &Rules) -> Option<Routing> {
    let rule = rules.of(&c.tier);
    let holder = c.holder();
    let holder = owner_under(rule, holder.as_ref())?;
    Some(Routing {
        owner: Owner {
            team: holder.team.clone(),
            rep_id: holder.rep_id.clone(),
            ..Owner::default()
        },
        rule_id: rule.as_str().to_string(),
        reason: format!(
            "account {} is owned by rep `{}` since {} (by {}); rule {} gives it its leads",
            c.account_key,
            holder.rep_id,
            holder.since.to_rfc3339(),
            holder.by.as_str(),
            rule.as_str()
        ),
        weights: Vec::new(),
        skipped: Vec::new(),
        mql_event_id: c.mql_event_id,
    })
}

/// Open leads per `(tenant, rep)` that the read models do not show yet: given by routings
/// and escalations appended and not seen applied.
pub(super) fn open_in_flight(pending: &HashMap<Uuid, Pending>) -> HashMap<(String, String), u32> {
    let mut extra: HashMap<(String, String), u32> = HashMap::new();
    for p in pending.values() {
        if let Pending::Routed {
            tenant,
            rep: Some(rep),
        }
        | Pending::Escalated {
            tenant,
            rep: Some(rep),
        } = p
        {
            *extra.entry((tenant.clone(), rep.clone())).or_default() += 1;
        }
    }
    extra
}

/// What routing looks at, from the `leads` columns.
pub(super) fn lead_facts(region: &str, industry: &str, segment: &str, channel: &str) -> LeadFacts {
    LeadFacts {
        region: region.to_string(),
        industry: industry.to_string(),
        segment: match segment {
            "KA" => Segment::Ka,
            "SMB" => Segment::Smb,
            _ => Segment::Unspecified,
        },
        channel: channel.to_string(),
    }
}

/// A roster rep's record: read-model history (neutral values without any) plus `extra`
/// open leads not in the read models yet.
pub(super) fn record(r: &leadledger_sla::RepConfig, s: Option<&RepStats>, extra: u32) -> RepRecord {
    let open = s.map_or(0, |s| u32::try_from(s.open_leads).unwrap_or(u32::MAX));
    RepRecord {
        rep_id: r.rep_id.clone(),
        team: r.team.clone(),
        follow_up_median_hours: s
            .and_then(|s| s.follow_up_median_hours)
            .unwrap_or(NEUTRAL_FOLLOW_UP_HOURS),
        feedback_completeness: s
            .and_then(|s| s.feedback_completeness)
            .unwrap_or(NEUTRAL_COMPLETENESS),
        conversion_rate: s
            .and_then(|s| s.conversion_rate)
            .unwrap_or(NEUTRAL_CONVERSION),
        open_leads: open.saturating_add(extra),
        cap: r.cap,
        available: r.available,
    }
}

/// How a skipped rep is recorded in `LeadRouted.skipped`.
pub(super) fn describe(why: &SkipReason) -> String {
    match why {
        SkipReason::Unavailable => "unavailable".to_string(),
        SkipReason::AtCap { open_leads, cap } => {
            format!("at cap: {open_leads} open leads, cap {cap}")
        }
    }
}
