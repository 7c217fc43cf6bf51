//! Reads behind `SlaService`: the SLA report at an instant, the clocks needing attention,
//! the alert stream's pages and partner leakage.
//!
//! `sla_clocks` holds every clock evaluated over the whole timeline. Evaluating at `as_of` is
//! a filter on it, because a clock's past is a prefix of its future: a clock that started
//! after `as_of` does not exist yet, and one whose end (`ended_at`) is after `as_of` was still
//! running then, so its state comes from its thresholds (`sla_clock_state`) against `as_of`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_domain::Event;
use sqlx::{PgPool, Postgres};
use uuid::Uuid;

use crate::StoreError;

/// The `clocks` CTE the report statements start with: the tenant's clocks that exist at
/// `as_of`, with their state then and the lead's current owner and dimensions (binds $1..$5,
/// see `bind_clocks`).
const CLOCKS_AT: &str = include_str!("sql/sla_reports_clocks_at.sql");
/// The rest of `attention`'s statement, after `CLOCKS_AT`.
const ATTENTION: &str = include_str!("sql/sla_reports_attention.sql");
const ALERTS: &str = include_str!("sql/sla_alerts.sql");
const PARTNER_LEAKAGE: &str = include_str!("sql/sla_reports_partner_leakage.sql");

/// What a report groups by, besides the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaDimension {
    Rep,
    Team,
    Segment,
    Channel,
    Region,
    /// Month the clock started, `YYYY-MM` (UTC).
    Period,
    Policy,
}

impl SlaDimension {
    /// The SQL of the group key over the `clocks` CTE (fixed strings, never user input).
    fn sql(self) -> &'static str {
        match self {
            SlaDimension::Rep => "owner_rep_id",
            SlaDimension::Team => "owner_team",
            SlaDimension::Segment => "segment",
            SlaDimension::Channel => "channel",
            SlaDimension::Region => "region",
            SlaDimension::Period => "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM')",
            SlaDimension::Policy => "policy_id",
        }
    }
}

/// Which clocks a report covers.
#[derive(Debug, Clone)]
pub struct ClockFilter {
    pub as_of: DateTime<Utc>,
    pub started_from: Option<DateTime<Utc>>,
    pub started_to: Option<DateTime<Utc>>,
    /// Empty: every policy.
    pub policies: Vec<String>,
}

fn bind_clocks<'q>(
    sql: &'q str,
    tenant: &'q str,
    f: &'q ClockFilter,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sql)
        .bind(tenant)
        .bind(f.as_of)
        .bind(f.started_from)
        .bind(f.started_to)
        .bind(&f.policies)
}

/// One group × policy of a report.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReportRow {
    pub key: String,
    pub policy_id: String,
    pub clocks: i64,
    pub met: i64,
    pub met_late: i64,
    pub breached: i64,
    pub stopped: i64,
    pub stopped_breached: i64,
    pub open: i64,
    pub at_risk: i64,
    pub paused: i64,
    pub policy_versions: Vec<i32>,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

/// Counts per state and the distribution of time to target, per group and policy.
pub async fn report(
    pool: &PgPool,
    tenant: &str,
    dim: SlaDimension,
    f: &ClockFilter,
) -> Result<Vec<ReportRow>, StoreError> {
    // Dynamic SQL: the group key is the dimension's expression.
    let sql = format!(
        "{CLOCKS_AT} SELECT coalesce({key}, '') AS key, policy_id, count(*) AS clocks, \
           count(*) FILTER (WHERE state = 'met') AS met, \
           count(*) FILTER (WHERE state = 'met_late') AS met_late, \
           count(*) FILTER (WHERE state = 'breached') AS breached, \
           count(*) FILTER (WHERE state = 'stopped') AS stopped, \
           count(*) FILTER (WHERE state = 'stopped' AND breached_at IS NOT NULL) \
             AS stopped_breached, \
           count(*) FILTER (WHERE state = 'open') AS open, \
           count(*) FILTER (WHERE state = 'at_risk') AS at_risk, \
           count(*) FILTER (WHERE state = 'paused') AS paused, \
           array_agg(DISTINCT policy_version ORDER BY policy_version) AS policy_versions, \
           percentile_cont(0.5) WITHIN GROUP \
             (ORDER BY extract(epoch FROM ended_at - started_at)::float8) \
             FILTER (WHERE state IN ('met', 'met_late')) AS median_s, \
           percentile_cont(0.9) WITHIN GROUP \
             (ORDER BY extract(epoch FROM ended_at - started_at)::float8) \
             FILTER (WHERE state IN ('met', 'met_late')) AS p90_s \
         FROM clocks GROUP BY 1, 2 ORDER BY 1, 2",
        key = dim.sql()
    );
    let rows = bind_clocks(&sql, tenant, f).fetch_all(pool).await?;
    rows.iter()
        .map(|r| sqlx::FromRow::from_row(r).map_err(StoreError::from))
        .collect()
}

/// A clock in a listed state at `as_of`, with the lead's current owner.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AttentionRow {
    pub lead_id: String,
    pub policy_id: String,
    pub policy_version: i32,
    pub start_event_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub state: String,
    pub paused_at: Option<DateTime<Utc>>,
    pub owner_team: String,
    pub owner_queue: String,
    pub owner_rep_id: String,
    pub owner_partner_id: String,
}

/// Where a page of attention clocks continues: after this `(due_at, lead, policy, start)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionCursor {
    pub due_at: DateTime<Utc>,
    pub lead_id: String,
    pub policy_id: String,
    pub start_event_id: Uuid,
}

/// A page of the clocks whose state at `as_of` is one of `states` (`sla_clock_state`'s
/// names: `open`, `at_risk`, `breached`, `met`, `met_late`, `stopped`), earliest due first.
pub async fn attention(
    pool: &PgPool,
    tenant: &str,
    f: &ClockFilter,
    states: &[&str],
    after: Option<&AttentionCursor>,
    limit: i64,
) -> Result<Vec<AttentionRow>, StoreError> {
    let sql = format!("{CLOCKS_AT}{ATTENTION}");
    let rows = bind_clocks(&sql, tenant, f)
        .bind(after.map(|c| c.due_at))
        .bind(after.map(|c| c.lead_id.as_str()))
        .bind(after.map(|c| c.policy_id.as_str()))
        .bind(after.map(|c| c.start_event_id))
        .bind(limit)
        .bind(states)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| sqlx::FromRow::from_row(r).map_err(StoreError::from))
        .collect()
}

/// Lead filters of the alert stream (empty: any).
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub team: String,
    pub rep_id: String,
    /// Also the escalation steps (`sla_escalated`).
    pub escalations: bool,
    pub segment: String,
    pub region: String,
}

/// An `sla_at_risk` / `sla_breached` (or `sla_escalated`) event of a lead, with the lead's
/// current owner.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub event_id: Uuid,
    pub lead_id: String,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub log_partition: i32,
    pub log_offset: i64,
    /// The alert as stored (decoded by the timeline reader).
    pub event: Event,
    pub owner_team: String,
    pub owner_queue: String,
    pub owner_rep_id: String,
    pub owner_partner_id: String,
    pub segment: String,
    pub region: String,
}

/// [`AlertRow`] as selected.
#[derive(sqlx::FromRow)]
struct StoredAlert {
    event_id: Uuid,
    lead_id: String,
    event_type: String,
    occurred_at: DateTime<Utc>,
    log_partition: i32,
    log_offset: i64,
    raw: Vec<u8>,
    owner_team: String,
    owner_queue: String,
    owner_rep_id: String,
    owner_partner_id: String,
    segment: String,
    region: String,
}

/// The next alerts after `after` (partition → last offset considered, inclusive; absent
/// partitions from the start) and below `applied` (partition → next offset to apply: rows
/// under it are committed together with everything before them in that partition, so a
/// page never skips a row that commits later). Ordered by `(partition, offset)`.
pub async fn alerts(
    pool: &PgPool,
    tenant: &str,
    filter: &AlertFilter,
    after: &BTreeMap<i32, i64>,
    applied: &BTreeMap<i32, i64>,
    limit: i64,
) -> Result<Vec<AlertRow>, StoreError> {
    let (ap, an): (Vec<i32>, Vec<i64>) = applied.iter().map(|(p, o)| (*p, *o)).unzip();
    let (pp, po): (Vec<i32>, Vec<i64>) = after.iter().map(|(p, o)| (*p, *o)).unzip();
    let rows: Vec<StoredAlert> = sqlx::query_as(ALERTS)
        .bind(tenant)
        .bind(&ap)
        .bind(&an)
        .bind(&pp)
        .bind(&po)
        .bind(&filter.team)
        .bind(&filter.rep_id)
        .bind(&filter.segment)
        .bind(&filter.region)
        .bind(limit)
        .bind(filter.escalations)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AlertRow {
                event: crate::timeline::decode(&r.raw, &r.event_type)?,
                event_id: r.event_id,
                lead_id: r.lead_id,
                event_type: r.event_type,
                occurred_at: r.occurred_at,
                log_partition: r.log_partition,
                log_offset: r.log_offset,
                owner_team: r.owner_team,
                owner_queue: r.owner_queue,
                owner_rep_id: r.owner_rep_id,
                owner_partner_id: r.owner_partner_id,
                segment: r.segment,
                region: r.region,
            })
        })
        .collect()
}

/// One partner's leakage.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LeakageRow {
    pub partner_id: String,
    pub handed_off: i64,
    pub leaked: i64,
    pub leaked_lead_ids: Vec<String>,
}

/// Per partner: leads it has held since at least `cutoff` (`owner_since <= cutoff`), and of
/// those the ones with no outcome and no follow-up logged between the hand-off and `as_of`
/// (read from the timeline: a follow-up before the hand-off, by someone else, does not
/// count), with up to `max_ids` of their ids, oldest hand-off first.
pub async fn partner_leakage(
    pool: &PgPool,
    tenant: &str,
    as_of: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    max_ids: i64,
) -> Result<Vec<LeakageRow>, StoreError> {
    Ok(sqlx::query_as(PARTNER_LEAKAGE)
        .bind(tenant)
        .bind(as_of)
        .bind(cutoff)
        .bind(max_ids)
        .fetch_all(pool)
        .await?)
}
