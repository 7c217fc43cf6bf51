//! Marketing spend as the ROI reads it: the stored statements (`marketing_spend`, the latest
//! per period) overlapping a range of days, and how long each group's won leads took from
//! capture to signature.

use chrono::{DateTime, NaiveDate, Utc};
use leadledger_domain::spend::Spend;
use sqlx::PgPool;

use crate::StoreError;

const OVERLAPPING: &str = include_str!("sql/spend_overlapping.sql");
const TURNOVER: &str = include_str!("sql/spend_turnover.sql");

/// Tenant's statements in `currency` with days in `[from, to)`.
pub async fn overlapping(
    pool: &PgPool,
    tenant: &str,
    currency: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Spend>, StoreError> {
    type Row = (String, String, NaiveDate, NaiveDate, i64, String);
    let rows: Vec<Row> = sqlx::query_as(OVERLAPPING)
        .bind(tenant)
        .bind(currency)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(channel, campaign, period_start, period_end, amount_minor, currency)| Spend {
                channel,
                campaign,
                period_start,
                period_end,
                amount_minor,
                currency,
            },
        )
        .collect())
}

/// Capture → signed of one group's won leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Turnover {
    pub value: String,
    /// Nearest-rank P50 and P90, seconds.
    pub p50_seconds: f64,
    pub p90_seconds: f64,
    pub won: i64,
}

/// Per channel (or campaign with `by_campaign`), the turnover of the leads captured in
/// `[from, to)` and signed in `currency`.
pub async fn turnover(
    pool: &PgPool,
    tenant: &str,
    by_campaign: bool,
    currency: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Turnover>, StoreError> {
    type Row = (String, f64, f64, i64);
    let rows: Vec<Row> = sqlx::query_as(TURNOVER)
        .bind(tenant)
        .bind(by_campaign)
        .bind(currency)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(value, p50_seconds, p90_seconds, won)| Turnover {
            value,
            p50_seconds,
            p90_seconds,
            won,
        })
        .collect())
}
