//! The rep leaderboard: per rep, the leads they own and what became of them — follow-up SLA,
//! feedback completeness, conversion, revenue — at an instant `as_of`.
//!
//! Practitioners reward reps who turn leads fast and report well with more good leads; this
//! is the table sales ops and the router's fairness audit read. Everything is read from the
//! read models (`leads`, `sla_clocks`), so it is as replayable as they are; clocks are
//! evaluated at `as_of` (a clock that ends after `as_of` is still running then).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

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
