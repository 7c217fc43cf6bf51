//! The filters of `ListLeads` and their SQL clauses over `leads` (and, for the stays and
//! exits, subqueries on `stage_visits` and `stage_transitions`). Fixed text; every value is
//! bound. The same filters over a folded lead are in `crate::cut` (`ListLeads` at a cut).

use chrono::{DateTime, TimeDelta, Utc};
use leadledger_domain::Stage;
use sqlx::{Postgres, QueryBuilder};

/// A stored stage's main-line rank, over a row `v` or `t` of the stage tables.
const RANKS: &str = "ARRAY['captured', 'mql', 'sql', 'poc', 'signed']";

/// Filters of `ListLeads`; empty strings and `None` mean "any".
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub stages: Vec<String>,
    pub channel: String,
    pub campaign: String,
    pub region: String,
    pub industry: String,
    pub segment: String,
    pub owner_rep_id: String,
    pub captured_from: Option<DateTime<Utc>>,
    pub captured_to: Option<DateTime<Utc>>,
    /// Leads whose furthest main-line rank is at least this (1 captured … 5 signed).
    pub reached_rank: Option<i16>,
    /// Leads signed in this currency.
    pub signed_currency: String,
    /// Leads owned by this team.
    pub owner_team: String,
    /// Leads that have a stay in this stage (entered it at least once).
    pub entered: Option<Stage>,
    /// With `entered`: leads that entered a later main-line stage within this long of their
    /// first entry into it (`Velocity`'s `advanced_within_window`).
    pub advanced_within: Option<TimeDelta>,
    /// With `reached_rank`: leads that reached it (or a later main-line stage) within this
    /// long of their capture (`Cohorts`' curves).
    pub reached_within: Option<TimeDelta>,
    /// Leads with at least one exit matching it (`Reasons`' leads).
    pub exited: Option<ExitFilter>,
}

/// Exits a lead must have one of; empty strings and `None` mean "any".
#[derive(Debug, Clone, Default)]
pub struct ExitFilter {
    /// Rejected, recycled, disqualified or lost.
    pub kind: Option<Stage>,
    /// The reason code's name (`unspecified` when the fact gave none).
    pub code: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub rep_id: String,
    pub team: String,
    /// The furthest main-line stage reached before the exit, exactly.
    pub reached: Option<Stage>,
    /// Its rank is at least this (1 captured … 5 signed).
    pub reached_rank_at_least: Option<i32>,
}

/// Appends `AND …` for every filter set (after `WHERE tenant_id = …`).
pub(crate) fn push_where(q: &mut QueryBuilder<Postgres>, filter: &LeadFilter) {
    if !filter.stages.is_empty() {
        q.push(" AND stage = ANY(")
            .push_bind(filter.stages.clone())
            .push(")");
    }
    for (col, value) in [
        ("channel", &filter.channel),
        ("campaign", &filter.campaign),
        ("region", &filter.region),
        ("industry", &filter.industry),
        ("segment", &filter.segment),
        ("owner_rep_id", &filter.owner_rep_id),
        ("owner_team", &filter.owner_team),
    ] {
        if !value.is_empty() {
            q.push(format!(" AND {col} = ")).push_bind(value.clone());
        }
    }
    if let Some(from) = filter.captured_from {
        q.push(" AND captured_at >= ").push_bind(from);
    }
    if let Some(to) = filter.captured_to {
        q.push(" AND captured_at < ").push_bind(to);
    }
    if let Some(rank) = filter.reached_rank {
        q.push(" AND max_rank >= ").push_bind(rank);
    }
    if !filter.signed_currency.is_empty() {
        q.push(" AND max_rank >= 5 AND signed_currency = ")
            .push_bind(filter.signed_currency.clone());
    }
    push_stay_filters(q, filter);
    if let Some(x) = &filter.exited {
        push_exit_filter(q, x);
    }
}

/// The filters over a lead's stays (`stage_visits`), as subqueries on its visits (fixed
/// text; every value bound).
fn push_stay_filters(q: &mut QueryBuilder<Postgres>, filter: &LeadFilter) {
    const OF_LEAD: &str =
        "FROM stage_visits v WHERE v.tenant_id = leads.tenant_id AND v.lead_id = leads.lead_id";
    let rank_of_v = format!("array_position({RANKS}, v.stage)");
    if let Some(stage) = filter.entered {
        q.push(format!(" AND EXISTS (SELECT 1 {OF_LEAD} AND v.stage = "))
            .push_bind(stage.as_str())
            .push(")");
        if let Some(w) = filter.advanced_within {
            // A later main-line stage entered at or after the first entry, within `w` of it.
            let rank = i32::from(stage.rank().unwrap_or(u8::MAX));
            q.push(format!(
                " AND EXISTS (SELECT 1 {OF_LEAD} AND {rank_of_v} > "
            ))
            .push_bind(rank)
            .push(
                " AND v.entered_at - (SELECT min(f.entered_at) FROM stage_visits f \
                     WHERE f.tenant_id = leads.tenant_id AND f.lead_id = leads.lead_id \
                     AND f.stage = ",
            )
            .push_bind(stage.as_str())
            .push(") BETWEEN interval '0' AND ")
            .push_bind(w)
            .push(")");
        }
    }
    if let (Some(rank), Some(w)) = (filter.reached_rank, filter.reached_within) {
        // First entry into the stage or a later main-line one, at most `w` after capture
        // (before it counts as within).
        q.push(format!(
            " AND (SELECT min(v.entered_at) {OF_LEAD} AND {rank_of_v} >= "
        ))
        .push_bind(i32::from(rank))
        .push(") - captured_at <= ")
        .push_bind(w);
    }
}

/// Leads with an exit transition matching every field of `x` set (as `Reasons` selects and
/// keys its exits: exits_counts.sql).
fn push_exit_filter(q: &mut QueryBuilder<Postgres>, x: &ExitFilter) {
    q.push(
        " AND EXISTS (SELECT 1 FROM stage_transitions t WHERE t.tenant_id = leads.tenant_id \
         AND t.lead_id = leads.lead_id AND t.kind = 'exit'",
    );
    if let Some(kind) = x.kind {
        q.push(" AND t.to_stage = ").push_bind(kind.as_str());
    }
    for (expr, value) in [
        ("coalesce(t.reason_code, 'unspecified')", &x.code),
        ("coalesce(t.exit_rep, '')", &x.rep_id),
        ("coalesce(t.exit_team, '')", &x.team),
    ] {
        if !value.is_empty() {
            q.push(format!(" AND {expr} = ")).push_bind(value.clone());
        }
    }
    if let Some(from) = x.from {
        q.push(" AND t.at >= ").push_bind(from);
    }
    if let Some(to) = x.to {
        q.push(" AND t.at < ").push_bind(to);
    }
    if let Some(stage) = x.reached {
        q.push(" AND t.reached_stage = ").push_bind(stage.as_str());
    }
    if let Some(rank) = x.reached_rank_at_least {
        q.push(format!(" AND array_position({RANKS}, t.reached_stage) >= "))
            .push_bind(rank);
    }
    q.push(")");
}
