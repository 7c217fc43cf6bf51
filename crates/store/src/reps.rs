//! The rep leaderboard: per rep, the leads they own and what became of them — follow-up SLA,
//! feedback completeness, conversion, revenue — at an instant `as_of`.
//!
//! Practitioners reward reps who turn leads fast and report well with more good leads; this
//! is the table sales ops and the router's fairness audit read. Everything is read from the
//! read models (`leads`, `sla_clocks`), so it is as replayable as they are; clocks are
//! evaluated at `as_of` (a clock that ends after `as_of` is still running then).
//!
//! [`leaderboard_at_cut`] answers the same at a cut of the log ([`crate::cut`]): every lead
//! folded from the facts that had happened by `as_of` (and been recorded by `known_at`), so
//! owners, stages, amounts, clocks and feedback are the ones of then, not of now.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_domain::{Cut, Event, LeadState};
use leadledger_projection::clocks::lead_clocks;
use leadledger_projection::{ClockRow, Derivations};
use sqlx::PgPool;

use crate::cut;
use crate::StoreError;

const LEADERBOARD: &str = include_str!("sql/rep_leaderboard.sql");

/// One rep's line.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RepLine {
    pub rep_id: String,
    pub team: String,
    /// Leads the rep owns now.
    pub leads: i64,
    /// Of which reached SQL (or beyond).
    pub sqls: i64,
    /// Of which signed.
    pub signed: i64,
    /// Signed amount in `currency`, minor units.
    pub revenue_minor: i64,
    /// Follow-up clocks due or ended by `as_of`.
    pub clocks: i64,
    /// Of which met in time.
    pub met: i64,
    /// Median hours from clock start to the follow-up, over clocks ended by `as_of`.
    pub median_hours: Option<f64>,
    /// Filled / owed feedback fields over the rep's leads; `None` when nothing is owed.
    pub feedback: Option<f64>,
}

impl RepLine {
    /// Share of due follow-up clocks met in time.
    pub fn compliance(&self) -> Option<f64> {
        (self.clocks > 0).then(|| self.met as f64 / self.clocks as f64)
    }
}

/// The leaderboard of `tenant` at `as_of`, for leads captured before it: follow-up measured
/// by the clocks of `policy_id`, revenue in `currency`. Ordered by revenue, then compliance.
pub async fn leaderboard(
    pool: &PgPool,
    tenant: &str,
    as_of: DateTime<Utc>,
    policy_id: &str,
    currency: &str,
) -> Result<Vec<RepLine>, StoreError> {
    Ok(sqlx::query_as(LEADERBOARD)
        .bind(tenant)
        .bind(as_of)
        .bind(policy_id)
        .bind(currency)
        .fetch_all(pool)
        .await?)
}

/// One owned lead as [`leaderboard_at_cut`] counts it.
struct Owned {
    rep: String,
    team: String,
    max_rank: u8,
    revenue: i64,
    feedback: (u32, u32),
    /// Clock states at `as_of` of the policy's clocks started by then: counted, met, hours
    /// to the follow-up (ended in time or late).
    clocks: Vec<(bool, bool, Option<f64>)>,
}

/// The leaderboard at `as_of` with every lead folded from the events `cut` admits (its
/// `as_of` is the caller's business-time bound; it may differ from the clock instant only
/// when `known_at` alone is given), clocks and feedback derived with `derive` as the
/// projector derives them. The same lines, in the same order, as [`leaderboard`] over the
/// read models of a log holding only those events.
pub async fn leaderboard_at_cut(
    pool: &PgPool,
    tenant: &str,
    cut: &Cut,
    as_of: DateTime<Utc>,
    policy_id: &str,
    currency: &str,
    derive: &Derivations,
) -> Result<Vec<RepLine>, StoreError> {
    let mut owned: Vec<Owned> = Vec::new();
    let add = |_: &str, st: LeadState, events: &[Event]| {
        if st.owner.rep_id.is_empty() || st.captured_at.is_none_or(|c| c > as_of) {
            return;
        }
        let clocks = lead_clocks(derive, tenant, events, &st)
            .into_iter()
            .filter(|c| c.policy_id == policy_id && c.started_at <= as_of)
            .map(|c| clock_at(&c, as_of))
            .collect();
        let f = derive.feedback(tenant, events);
        owned.push(Owned {
            rep: st.owner.rep_id.clone(),
            team: st.owner.team.clone(),
            max_rank: st.max_rank,
            revenue: if st.max_rank >= 5 && st.signed_currency == currency {
                st.signed_amount_minor
            } else {
                0
            },
            feedback: (f.required, f.filled),
            clocks,
        });
    };
    let captured = cut::Captured {
        only: true,
        before: as_of.checked_add_signed(chrono::TimeDelta::microseconds(1)),
    };
    cut::for_each_lead(pool, tenant, cut, captured, add).await?;
    Ok(lines(owned))
}

/// A clock at `as_of` as rep_leaderboard.sql reads it: whether it counts (ended met, late,
/// or stopped after a breach by then, or running past its due time and not paused), whether it was met in
/// time, and the hours to its follow-up when it ended met or late by then.
fn clock_at(c: &ClockRow, as_of: DateTime<Utc>) -> (bool, bool, Option<f64>) {
    let paused = |(from, to): &(DateTime<Utc>, DateTime<Utc>)| *from <= as_of && as_of < *to;
    let state = match c.ended_at {
        Some(end) if end <= as_of => c.status,
        _ if c.status == "paused" && c.paused_at.is_some_and(|p| p <= as_of) => "paused",
        _ if c.pauses.iter().any(paused) => "paused",
        _ if as_of > c.due_at => "breached",
        _ => "open",
    };
    let counts = matches!(state, "met" | "met_late" | "breached")
        || (state == "stopped" && c.breached_at.is_some());
    let hours = match (state, c.ended_at) {
        ("met" | "met_late", Some(end)) => {
            Some((end - c.started_at).num_microseconds().unwrap_or(i64::MAX) as f64 / 3.6e9)
        }
        _ => None,
    };
    (counts, state == "met", hours)
}

/// A rep's line being added up, the hours of its clocks' follow-ups, and its feedback owed
/// and filled.
type Adding = (RepLine, Vec<f64>, (u64, u64));

/// The lines of the owned leads, per rep, ordered by revenue, compliance, then rep.
fn lines(owned: Vec<Owned>) -> Vec<RepLine> {
    let mut by_rep: BTreeMap<String, Adding> = BTreeMap::new();
    for o in owned {
        let (line, hours, feedback) = by_rep.entry(o.rep.clone()).or_insert_with(|| {
            let line = RepLine {
                rep_id: o.rep.clone(),
                team: o.team.clone(),
                leads: 0,
                sqls: 0,
                signed: 0,
                revenue_minor: 0,
                clocks: 0,
                met: 0,
                median_hours: None,
                feedback: None,
            };
            (line, Vec::new(), (0, 0))
        });
        if o.team < line.team {
            line.team = o.team;
        }
        line.leads += 1;
        line.sqls += i64::from(o.max_rank >= 3);
        line.signed += i64::from(o.max_rank >= 5);
        line.revenue_minor += o.revenue;
        for (counts, met, h) in o.clocks {
            line.clocks += i64::from(counts);
            line.met += i64::from(met);
            hours.extend(h);
        }
        feedback.0 += u64::from(o.feedback.0);
        feedback.1 += u64::from(o.feedback.1);
    }
    let mut out: Vec<RepLine> = by_rep
        .into_values()
        .map(|(mut line, mut hours, (required, filled))| {
            hours.sort_by(f64::total_cmp);
            line.median_hours = median(&hours);
            line.feedback = (required > 0).then(|| filled as f64 / required as f64);
            line
        })
        .collect();
    let share = |l: &RepLine| l.compliance().unwrap_or(0.0);
    out.sort_by(|a, b| {
        b.revenue_minor
            .cmp(&a.revenue_minor)
            .then(share(b).total_cmp(&share(a)))
            .then_with(|| a.rep_id.cmp(&b.rep_id))
    });
    out
}

/// `percentile_cont(0.5)` of sorted values: the middle one, or the mean of the two middle.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(sorted[n / 2 - 1] + (sorted[n / 2] - sorted[n / 2 - 1]) * 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_is_percentile_cont() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[1.0, 2.0, 10.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), Some(3.0));
    }
}
