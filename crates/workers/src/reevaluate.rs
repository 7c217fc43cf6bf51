//! Policy changes apply to every clock: after a start with policies whose clock-deciding
//! parts (calendar, policies, escalation ladders; [`TenantPolicies::clock_fingerprint`])
//! differ from those every clock was last evaluated with, every lead's clocks are evaluated
//! again in the background (docs/SLA.md, "Changing the policy file").
//!
//! One re-evaluator at a time (advisory lock), in roles `projector` and `all`. It walks the
//! leads in key order, `step` at a time; each step is one transaction
//! (`leadledger_store::reevaluation`) that locks its leads, folds their timelines with the
//! projector's fold and replaces their clocks with `leadledger_projection`'s, and stores the
//! position. A restart resumes after the last step; a pass that reaches the end records the
//! fingerprint as done, and the re-evaluator ends until the next start. Progress is logged
//! and sampled as `leadledger_sla_reevaluation_leads{state="done"|"total"}`.
//!
//! The projector keeps applying new facts meanwhile (with the same policies, its clocks are
//! right already); the leads' row locks order the two writers (see the store module).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use leadledger_domain::{fold_with, Event};
use leadledger_projection::clocks::lead_clocks;
use leadledger_projection::{ClockRow, Derivations};
use leadledger_store::reevaluation::{self, Step};
use leadledger_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::gauges::SLA_REEVALUATION;
use crate::Shutdown;

/// The session advisory lock electing one re-evaluator ("llree").
pub const LOCK_KEY: i64 = 0x006c_6c72_6565;

/// What the re-evaluator works with.
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    /// The policies now in force (the projector's).
    pub derive: Arc<Derivations>,
    /// Leads per step (one transaction).
    pub step: i64,
}

/// Runs until every clock is evaluated with the current policies, or `stop`. Errors end the
/// current term; it pauses a second and tries again.
pub async fn run(deps: Deps, stop: Shutdown) {
    while !stop.is_cancelled() {
        match term(&deps, &stop).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "SLA re-evaluation: retrying in 1 s");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Waits for the lock, then evaluates until done (`Ok`) or stopped (`Ok`, resumable).
async fn term(deps: &Deps, stop: &CancellationToken) -> Result<(), StoreError> {
    // Held for the term: the lock lives with this connection.
    let Some(_lock) = crate::singleton::elect(&deps.store, LOCK_KEY, stop).await? else {
        return Ok(());
    };
    let pool = &deps.store.pool;
    let fingerprint = deps.derive.sla.clock_fingerprint();
    let mut st = reevaluation::state(pool).await?;
    if st.done_fingerprint == fingerprint {
        tracing::debug!("SLA re-evaluation: every clock is evaluated with these policies");
        publish(st.leads_total, st.leads_total);
        return Ok(());
    }
    if st.pass_fingerprint != fingerprint {
        reevaluation::start(pool, &fingerprint).await?;
        st = reevaluation::state(pool).await?;
        tracing::info!(
            leads = st.leads_total,
            "SLA re-evaluation: the policies changed; evaluating every lead's clocks again"
        );
    } else {
        tracing::info!(
            done = st.leads_done,
            leads = st.leads_total,
            "SLA re-evaluation: resuming"
        );
    }
    let (mut after_t, mut after_l) = (st.after_tenant, st.after_lead);
    let (mut done, total) = (st.leads_done, st.leads_total);
    let mut logged = std::time::Instant::now();
    while !stop.is_cancelled() {
        let Some(step) = Step::next(pool, (&after_t, &after_l), deps.step).await? else {
            reevaluation::finish(pool, &fingerprint).await?;
            tracing::info!(leads = done, "SLA re-evaluation: done");
            publish(done, total.max(done));
            return Ok(());
        };
        let clocks = clocks_of(&deps.derive, &step);
        let n = i64::try_from(step.leads.len()).unwrap_or(i64::MAX);
        let last = step.leads.last().cloned().unwrap_or_default();
        step.write(&fingerprint, &clocks).await?;
        (after_t, after_l) = last;
        done += n;
        publish(done, total.max(done));
        if logged.elapsed() > Duration::from_secs(10) {
            tracing::info!(done, total, "SLA re-evaluation: in progress");
            logged = std::time::Instant::now();
        }
    }
    Ok(())
}

fn publish(done: i64, total: i64) {
    metrics::gauge!(SLA_REEVALUATION, "state" => "done").set(done as f64);
    metrics::gauge!(SLA_REEVALUATION, "state" => "total").set(total as f64);
}

/// Every locked lead's clocks, as the projector computes them (fold with its granted
/// ownership requests, every policy over the whole timeline).
fn clocks_of(derive: &Derivations, step: &Step) -> Vec<(String, String, ClockRow)> {
    let mut by_lead: HashMap<(&str, &str), Vec<Event>> = HashMap::new();
    for l in &step.timelines {
        by_lead
            .entry((l.event.tenant_id.as_str(), l.event.lead_id.as_str()))
            .or_default()
            .push(l.event.clone());
    }
    let mut out = Vec::new();
    for (tenant, lead) in &step.leads {
        let Some(events) = by_lead.get(&(tenant.as_str(), lead.as_str())) else {
            continue;
        };
        let state = fold_with(events, &step.granted);
        for c in lead_clocks(derive, tenant, events, &state) {
            out.push((tenant.clone(), lead.clone(), c));
        }
    }
    out
}
