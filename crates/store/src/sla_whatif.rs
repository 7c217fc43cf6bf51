//! `SlaWhatIf`: a candidate policy file tried on the tenant's timelines.
//!
//! Every lead of the tenant is folded again from its facts up to `as_of` (the loader of
//! [`crate::cut`]) and its clocks are evaluated twice, under the live policies and under the
//! candidate, then counted per group and policy like the SLA report
//! ([`leadledger_sla::tally`]). The read models are not read for clocks and nothing is
//! written: the live projection is untouched. Like every query at a cut, it reads every
//! fact of the tenant up to `as_of` (docs/SLA.md, "What-if").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_domain::{Cut, LeadState};
use leadledger_sla::tally::Tally;
use leadledger_sla::{evaluate, Clock, PolicySet};
use sqlx::PgPool;

use crate::cut::{for_each_lead, Captured};
use crate::sla_reports::{ReportRow, SlaDimension};
use crate::StoreError;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct WhatIf {
    pub as_of: DateTime<Utc>,
    /// Only clocks started in `[started_from, started_to)`.
    pub started_from: DateTime<Utc>,
    pub started_to: DateTime<Utc>,
    pub dim: SlaDimension,
}

/// Tallies per `(group key, policy id)`.
pub type Tallies = BTreeMap<(String, String), Tally>;

/// The two reports.
#[derive(Debug, Clone, Default)]
pub struct WhatIfReport {
    pub live: Tallies,
    pub candidate: Tallies,
    /// Leads evaluated.
    pub leads: i64,
}

/// The group key of a clock on a lead, as the SQL report spells it (the lead's values at
/// `as_of` here, its current ones there).
fn key(dim: SlaDimension, st: &LeadState, c: &Clock) -> String {
    match dim {
        SlaDimension::Rep => st.owner.rep_id.clone(),
        SlaDimension::Team => st.owner.team.clone(),
        SlaDimension::Segment => st.company.segment.as_str().to_string(),
        SlaDimension::Channel => st.source.channel.clone(),
        SlaDimension::Region => st.company.region.clone(),
        SlaDimension::Period => c.started_at.format("%Y-%m").to_string(),
        SlaDimension::Policy => c.policy_id.clone(),
    }
}

/// A tally as a row of the SQL report.
pub fn report_row(key: &str, policy_id: &str, t: &Tally) -> ReportRow {
    ReportRow {
        key: key.to_string(),
        policy_id: policy_id.to_string(),
        clocks: t.clocks,
        met: t.met,
        met_late: t.met_late,
        breached: t.breached,
        stopped: t.stopped,
        stopped_breached: t.stopped_breached,
        open: t.open,
        at_risk: t.at_risk,
        paused: t.paused,
        policy_versions: t
            .versions
            .iter()
            .map(|v| i32::try_from(*v).unwrap_or(i32::MAX))
            .collect(),
        median_s: t.to_target_quantile(0.5),
        p90_s: t.to_target_quantile(0.9),
    }
}

/// Evaluates `live` and `candidate` over every lead of `tenant` at `w.as_of`.
pub async fn what_if(
    pool: &PgPool,
    tenant: &str,
    w: &WhatIf,
    live: &PolicySet,
    candidate: &PolicySet,
) -> Result<WhatIfReport, StoreError> {
    let mut out = WhatIfReport::default();
    let cut = Cut {
        as_of: Some(w.as_of),
        known_at: None,
    };
    let in_window = |c: &Clock| c.started_at >= w.started_from && c.started_at < w.started_to;
    for_each_lead(pool, tenant, &cut, Captured::default(), |_, st, events| {
        out.leads += 1;
        for (set, tallies) in [(live, &mut out.live), (candidate, &mut out.candidate)] {
            for c in evaluate(&set.policies, &set.calendar, events, &st, w.as_of) {
                if in_window(&c) {
                    let k = (key(w.dim, &st, &c), c.policy_id.clone());
                    tallies.entry(k).or_default().add(&c);
                }
            }
        }
    })
    .await?;
    Ok(out)
}
