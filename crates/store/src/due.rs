//! What the SLA worker reads: clocks whose alerts are due, MQLs waiting to be routed, reps'
//! records, and which of its own events the projection has applied.
//!
//! Every query runs on the worker's lock connection, so nothing is read by a worker that
//! has lost its lock. None writes: the worker's decisions go to the log
//! (`leadledger_grpc::sla`).
//!
//! # Layout
//! - [`LOCK_KEY`]: the session advisory lock electing one worker.
//! - [`due_alerts`] → [`DueAlert`]; [`due_escalations`] → [`DueEscalation`];
//!   [`routing_candidates`] → [`Candidate`];
//!   [`rep_stats`] → [`RepStats`]; [`applied`].

use std::collections::{HashMap, HashSet};

use leadledger_domain::account::ownership::{HeldBy, Holder};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StoreError;

const DUE_ALERTS: &str = include_str!("sql/due_alerts.sql");
const ROUTING_CANDIDATES: &str = include_str!("sql/due_routing_candidates.sql");
const REP_STATS: &str = include_str!("sql/due_rep_stats.sql");
const APPLIED: &str = include_str!("sql/due_applied.sql");
const ESCALATIONS: &str = include_str!("sql/due_escalations.sql");

/// A read-only REPEATABLE READ transaction: one snapshot of the read models for a tick.
pub use crate::db::snapshot;

/// The session advisory lock held by the one working SLA worker ("llsla").
pub const LOCK_KEY: i64 = 0x006c_6c73_6c61;

/// A threshold a running clock has crossed whose alert is not in the read models yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAlert {
    pub tenant_id: String,
    pub lead_id: String,
    pub policy_id: String,
    pub policy_version: i32,
    pub start_event_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub at_risk_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// `due_at < now`: the breach alert; else the at-risk alert.
    pub breached: bool,
    /// The alert's id (`sla_clocks.breach_event_id` or `at_risk_event_id`).
    pub event_id: Uuid,
}

/// Running clocks at `now` whose alert — breach when `due_at < now`, at-risk when
/// `at_risk_at <= now <= due_at` — has no `lead_events` row and is not in `skip` (appended,
/// not yet applied). At most `limit`, oldest threshold first, so a backlog drains in order.
pub async fn due_alerts(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    skip: &[Uuid],
    limit: i64,
) -> Result<Vec<DueAlert>, StoreError> {
    type Row = (
        String,
        String,
        String,
        i32,
        Uuid,
        DateTime<Utc>,
        DateTime<Utc>,
        DateTime<Utc>,
        bool,
        Uuid,
    );
    let rows: Vec<Row> = sqlx::query_as(DUE_ALERTS)
        .bind(now)
        .bind(skip)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| DueAlert {
            tenant_id: r.0,
            lead_id: r.1,
            policy_id: r.2,
            policy_version: r.3,
            start_event_id: r.4,
            started_at: r.5,
            at_risk_at: r.6,
            due_at: r.7,
            breached: r.8,
            event_id: r.9,
        })
        .collect())
}

/// A running clock whose next escalation step is due, with its lead as the read models show
/// it now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueEscalation {
    pub tenant_id: String,
    pub lead_id: String,
    pub policy_id: String,
    pub policy_version: i32,
    pub start_event_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub escalation_step: String,
    pub escalation_at: DateTime<Utc>,
    pub owner_team: String,
    pub owner_queue: String,
    pub owner_rep_id: String,
    pub owner_partner_id: String,
    /// Business time of the lead's last owner change.
    pub owner_since: Option<DateTime<Utc>>,
    /// `""` before any stage.
    pub stage: String,
    pub region: String,
    pub industry: String,
    /// `KA`, `SMB` or empty.
    pub segment: String,
    pub channel: String,
}

/// Clocks whose next escalation step is due at `now`, oldest step first, at most `limit`
/// (the caller skips the steps it appended and has not seen applied).
pub async fn due_escalations(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueEscalation>, StoreError> {
    Ok(sqlx::query_as(ESCALATIONS)
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// A lead in stage `mql` that nobody owns, with its latest MQL and its account's holding.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Candidate {
    pub tenant_id: String,
    pub lead_id: String,
    pub region: String,
    pub industry: String,
    /// `KA`, `SMB` or empty.
    pub segment: String,
    pub channel: String,
    pub mql_event_id: Uuid,
    pub mql_at: DateTime<Utc>,
    pub account_key: String,
    /// Its account's tier on the target-account list ("" when not listed).
    pub tier: String,
    pub holder_rep_id: String,
    pub holder_team: String,
    pub holder_since: Option<DateTime<Utc>>,
    pub holder_by: String,
}

impl Candidate {
    /// The rep who owns the lead's account, if anyone does.
    pub fn holder(&self) -> Option<Holder> {
        Some(Holder {
            rep_id: self.holder_rep_id.clone(),
            team: self.holder_team.clone(),
            since: self.holder_since?,
            by: HeldBy::parse(&self.holder_by)?,
        })
        .filter(|h| !h.rep_id.is_empty())
    }
}

/// Which tenants route: every tenant but some (the default policy set routes), plus some
/// listed ones (their own set routes).
#[derive(Debug, Clone, Copy)]
pub struct RoutingTenants<'a> {
    /// `Some(excluded)`: every tenant except these.
    pub all_but: Option<&'a [String]>,
    /// These tenants.
    pub only: &'a [String],
}

/// Leads of routing tenants currently in `mql` with no owner at all (no team, queue, rep or
/// partner), with the event of their latest transition into `mql`; oldest MQL first, at most
/// `limit`.
pub async fn routing_candidates(
    conn: &mut PgConnection,
    tenants: &RoutingTenants<'_>,
    limit: i64,
) -> Result<Vec<Candidate>, StoreError> {
    Ok(sqlx::query_as(ROUTING_CANDIDATES)
        .bind(limit)
        .bind(tenants.only)
        .bind(tenants.all_but.is_some())
        .bind(tenants.all_but.unwrap_or(&[]))
        .fetch_all(conn)
        .await?)
}

/// A rep's record as the read models show it, over the leads the rep owns now.
#[derive(Debug, Clone, PartialEq)]
pub struct RepStats {
    /// Median hours from MQL to first follow-up; `None` without such a lead.
    pub follow_up_median_hours: Option<f64>,
    /// Mean of `feedback_filled / feedback_required`; `None` when no lead owes feedback.
    pub feedback_completeness: Option<f64>,
    /// Share of owned leads that reached SQL; `None` without leads.
    pub conversion_rate: Option<f64>,
    /// Owned leads in `mql`, `sql` or `poc`.
    pub open_leads: i64,
}

/// The records of the given reps, by `(tenant, rep)`; a rep who owns no lead in a tenant is
/// absent for it.
pub async fn rep_stats(
    conn: &mut PgConnection,
    reps: &[String],
) -> Result<HashMap<(String, String), RepStats>, StoreError> {
    type Row = (String, String, Option<f64>, Option<f64>, Option<f64>, i64);
    let rows: Vec<Row> = sqlx::query_as(REP_STATS).bind(reps).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.0, r.1),
                RepStats {
                    follow_up_median_hours: r.2,
                    feedback_completeness: r.3,
                    conversion_rate: r.4,
                    open_leads: r.5,
                },
            )
        })
        .collect())
}

/// Which of `ids` the core projection has applied (`lead_events` rows).
pub async fn applied(conn: &mut PgConnection, ids: &[Uuid]) -> Result<HashSet<Uuid>, StoreError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<Uuid> = sqlx::query_scalar(APPLIED)
        .bind(ids)
        .fetch_all(conn)
        .await?;
    Ok(found.into_iter().collect())
}
