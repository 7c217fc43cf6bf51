//! The hand-off read models written inside the projection transaction: ownership decisions
//! (in log order), SLA clocks and feedback completeness (functions of the timeline).
//!
//! # Layout
//! - [`Derivations`]: what the projector derives with (the tenant's SLA policy file).
//! - [`decide_ownership`]: decides this batch's `OwnershipRequested` intents, in offset
//!   order, each against the lead's events before it in the log.
//! - [`granted`]: the granted requests of a set of leads (input of `fold_with`).
//! - [`ClockRows`]: `sla_clocks` rows of re-folded leads, replaced per lead.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadledger_domain::event::OwnershipMode;
use leadledger_domain::{fold_with, ids, ownership, Event, LeadState, Payload};
use leadledger_sla::{evaluate, ClockState, PolicySet, TenantPolicies};
use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::projection::Record;
use crate::StoreError;

/// What the projector derives read models with: each tenant's policy set. Changing it
/// changes `sla_clocks` and the feedback columns of leads re-folded afterwards; a replay
/// into a fresh database recomputes every lead.
#[derive(Debug, Clone, Default)]
pub struct Derivations {
    pub sla: TenantPolicies,
}

impl Derivations {
    /// The policy set of `tenant`.
    pub fn policies(&self, tenant: &str) -> &PolicySet {
        self.sla.for_tenant(tenant)
    }
}

/// The derived id of an SLA alert for a clock: from the clock's start event, the policy and
/// the threshold, so the SLA worker re-deriving it after a restart gets the same id.
pub fn alert_event_id(start_event_id: Uuid, policy_id: &str, kind: &str) -> Uuid {
    ids::derived_event_id(start_event_id, &format!("sla\u{1f}{policy_id}\u{1f}{kind}"))
}

/// Decides the ownership requests among `inserted` (records new to the read models), in
/// `(partition, offset)` order. Each is decided against the fold of its lead's events that
/// precede it in the log, with the requests granted before it: so the decision depends on
/// log order alone, and a replay decides the same.
pub(crate) async fn decide_ownership(
    tx: &mut Transaction<'_, Postgres>,
    inserted: &[&Record],
) -> Result<usize, StoreError> {
    let mut intents: Vec<&Record> = inserted
        .iter()
        .copied()
        .filter(|r| matches!(r.event.payload, Payload::OwnershipRequested(_)))
        .collect();
    intents.sort_by_key(|r| (r.partition, r.offset));
    for r in &intents {
        let Payload::OwnershipRequested(req) = &r.event.payload else {
            continue;
        };
        let e = &r.event;
        let bodies: Vec<Value> = sqlx::query_scalar(
            "SELECT body FROM lead_events WHERE tenant_id = $1 AND lead_id = $2 \
             AND log_partition = $3 AND log_offset < $4",
        )
        .bind(&e.tenant_id)
        .bind(&e.lead_id)
        .bind(r.partition)
        .bind(r.offset)
        .fetch_all(&mut **tx)
        .await?;
        let granted_before = granted(tx, &[e.tenant_id.as_str()], &[e.lead_id.as_str()]).await?;
        // Refused intents are not facts about the lead: left in, a refused claim on an
        // unknown lead would make the next claim see "a lead with one event" and grant it.
        let before: Vec<Event> = parse_events(&e.tenant_id, &e.lead_id, bodies)?
            .into_iter()
            .filter(|b| {
                !matches!(b.payload, Payload::OwnershipRequested(_))
                    || granted_before.contains(&b.event_id)
            })
            .collect();
        let state = fold_with(&before, &granted_before);
        let d = ownership::decide(&state, req);
        sqlx::query(
            "INSERT INTO ownership_decisions (intent_id, tenant_id, lead_id, log_partition, \
               log_offset, mode, rep_id, team, requested_by, expected_rep_id, requested_at, \
               granted, owner_before, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (intent_id) DO NOTHING",
        )
        .bind(e.event_id)
        .bind(&e.tenant_id)
        .bind(&e.lead_id)
        .bind(r.partition)
        .bind(r.offset)
        .bind(match req.mode {
            OwnershipMode::Claim => "claim",
            OwnershipMode::Assign => "assign",
        })
        .bind(&req.rep_id)
        .bind(&req.team)
        .bind(&req.requested_by)
        .bind(&req.expected_rep_id)
        .bind(e.occurred_at)
        .bind(d.granted)
        .bind(&d.owner_before)
        .bind(&d.reason)
        .execute(&mut **tx)
        .await?;
    }
    Ok(intents.len())
}

/// The granted ownership requests of the given leads.
pub(crate) async fn granted(
    tx: &mut Transaction<'_, Postgres>,
    tenants: &[&str],
    leads: &[&str],
) -> Result<HashSet<Uuid>, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT o.intent_id FROM ownership_decisions o \
         JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
           ON o.tenant_id = d.tenant_id AND o.lead_id = d.lead_id \
         WHERE o.granted",
    )
    .bind(tenants)
    .bind(leads)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().collect())
}

pub(crate) fn parse_events(
    tenant: &str,
    lead: &str,
    bodies: Vec<Value>,
) -> Result<Vec<Event>, StoreError> {
    bodies
        .into_iter()
        .map(|b| {
            serde_json::from_value(b).map_err(|e| {
                StoreError::Corrupt(format!("lead_events.body of {tenant}/{lead}: {e}"))
            })
        })
        .collect()
}

/// Column arrays of `sla_clocks` rows, bound with UNNEST.
#[derive(Default)]
pub(crate) struct ClockRows<'a> {
    tenant: Vec<&'a str>,
    lead: Vec<&'a str>,
    policy: Vec<String>,
    start_id: Vec<Uuid>,
    version: Vec<i32>,
    started: Vec<DateTime<Utc>>,
    at_risk: Vec<DateTime<Utc>>,
    due: Vec<DateTime<Utc>>,
    status: Vec<&'static str>,
    ended: Vec<Option<DateTime<Utc>>>,
    end_id: Vec<Option<Uuid>>,
    end_recorded: Vec<Option<DateTime<Utc>>>,
    stop_reason: Vec<&'static str>,
    breached: Vec<Option<DateTime<Utc>>>,
    at_risk_id: Vec<Uuid>,
    breach_id: Vec<Uuid>,
    /// Leads whose rows are replaced (all re-folded leads: a lead may lose its clocks).
    replaced: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> ClockRows<'a> {
    /// Evaluates every policy on one lead over its whole timeline. A clock still waiting for
    /// its target is stored as `running`; whether it is at risk or breached is a function of
    /// "now", applied when it is read (`sla_clock_state`).
    pub(crate) fn push_lead(
        &mut self,
        d: &Derivations,
        tenant: &'a str,
        lead: &'a str,
        events: &[Event],
        state: &LeadState,
    ) {
        self.replaced.entry(tenant).or_default().push(lead);
        let set = d.policies(tenant);
        let clocks = evaluate(
            &set.policies,
            &set.calendar,
            events,
            state,
            DateTime::<Utc>::MAX_UTC,
        );
        for c in clocks {
            let (status, ended, stop_reason, breached) = match &c.state {
                ClockState::Met { at } => ("met", Some(*at), "", None),
                ClockState::MetLate { at, breached_at } => {
                    ("met_late", Some(*at), "", Some(*breached_at))
                }
                ClockState::Stopped {
                    at,
                    reason,
                    breached_at,
                } => ("stopped", Some(*at), reason.as_str(), *breached_at),
                ClockState::Open | ClockState::AtRisk | ClockState::Breached { .. } => {
                    ("running", None, "", None)
                }
            };
            self.tenant.push(tenant);
            self.lead.push(lead);
            self.at_risk_id
                .push(alert_event_id(c.start_event_id, &c.policy_id, "at_risk"));
            self.breach_id
                .push(alert_event_id(c.start_event_id, &c.policy_id, "breached"));
            self.policy.push(c.policy_id);
            self.start_id.push(c.start_event_id);
            self.version
                .push(i32::try_from(c.policy_version).unwrap_or(i32::MAX));
            self.started.push(c.started_at);
            self.at_risk.push(c.at_risk_at);
            self.due.push(c.due_at);
            self.status.push(status);
            self.ended.push(ended);
            self.end_id.push(c.end_event_id);
            self.end_recorded.push(c.end_recorded_at);
            self.stop_reason.push(stop_reason);
            self.breached.push(breached);
        }
    }

    /// Replaces the stored clocks of every lead pushed.
    pub(crate) async fn write(self, tx: &mut Transaction<'_, Postgres>) -> Result<(), StoreError> {
        let (mut tenants, mut leads) = (Vec::new(), Vec::new());
        for (t, ls) in &self.replaced {
            for l in ls {
                tenants.push(*t);
                leads.push(*l);
            }
        }
        if !leads.is_empty() {
            sqlx::query(
                "DELETE FROM sla_clocks c USING UNNEST($1::text[], $2::text[]) AS d(t, l) \
                 WHERE c.tenant_id = d.t AND c.lead_id = d.l",
            )
            .bind(&tenants)
            .bind(&leads)
            .execute(&mut **tx)
            .await?;
        }
        if self.lead.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO sla_clocks (tenant_id, lead_id, policy_id, start_event_id, \
               policy_version, started_at, at_risk_at, due_at, status, ended_at, end_event_id, \
               end_recorded_at, stop_reason, breached_at, at_risk_event_id, breach_event_id) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::uuid[], $5::int4[], \
               $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::text[], \
               $10::timestamptz[], $11::uuid[], $12::timestamptz[], $13::text[], \
               $14::timestamptz[], $15::uuid[], $16::uuid[])",
        )
        .bind(&self.tenant)
        .bind(&self.lead)
        .bind(&self.policy)
        .bind(&self.start_id)
        .bind(&self.version)
        .bind(&self.started)
        .bind(&self.at_risk)
        .bind(&self.due)
        .bind(&self.status)
        .bind(&self.ended)
        .bind(&self.end_id)
        .bind(&self.end_recorded)
        .bind(&self.stop_reason)
        .bind(&self.breached)
        .bind(&self.at_risk_id)
        .bind(&self.breach_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
