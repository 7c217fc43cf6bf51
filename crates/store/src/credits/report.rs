//! The precomputed attribution report: credit per dimension value of one model.

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::StoreError;

const MODEL_INDEX: &str = include_str!("sql/model_index.sql");
const GROUPS: &str = include_str!("sql/report_groups.sql");
const PERIOD: &str = include_str!("sql/report_period.sql");

/// A precomputed report's coordinates.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub tenant: &'a str,
    /// `contact` or `account`.
    pub level: &'a str,
    /// `mql`, `sql`, `poc`, `signed` or `revenue`.
    pub conversion: &'a str,
    pub model: &'a str,
    /// `captured` or `converted`.
    pub basis: &'a str,
    /// `channel`, `campaign`, `keyword`, `region`, `industry` or `segment`.
    pub dimension: &'a str,
    /// `''` for counts.
    pub currency: &'a str,
    /// First UTC day, inclusive.
    pub from: Option<NaiveDate>,
    /// UTC day after the period.
    pub to: Option<NaiveDate>,
}

/// Credit per dimension value (values whose credit nets to 0 left out), and the period's
/// (conversions, unattributed); `None` when the stored credits do not hold the model (the
/// credits worker runs with another model set than the caller's).
pub async fn report(
    pool: &PgPool,
    r: &Report<'_>,
) -> Result<Option<(Vec<(String, i64)>, i64, i64)>, StoreError> {
    let stored: Option<Option<i32>> = sqlx::query_scalar(MODEL_INDEX)
        .bind(r.model)
        .fetch_optional(pool)
        .await?;
    if stored.flatten().is_none() {
        return Ok(None);
    }
    let groups: Vec<(String, i64)> = sqlx::query_as(GROUPS)
        .bind(r.tenant)
        .bind(r.level)
        .bind(r.conversion)
        .bind(r.model)
        .bind(r.basis)
        .bind(r.dimension)
        .bind(r.currency)
        .bind(r.from)
        .bind(r.to)
        .fetch_all(pool)
        .await?;
    let (conversions, unattributed): (i64, i64) = sqlx::query_as(PERIOD)
        .bind(r.tenant)
        .bind(r.level)
        .bind(r.conversion)
        .bind(r.basis)
        .bind(r.currency)
        .bind(r.from)
        .bind(r.to)
        .fetch_one(pool)
        .await?;
    Ok(Some((groups, conversions, unattributed)))
}
