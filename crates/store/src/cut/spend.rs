//! `Roi`'s reads at a cut: the spend statements the cut admits (the latest of each period
//! as the projector keeps them) and the capture → signed turnover of folded leads.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use leadledger_analytics::velocity::nearest_rank;
use leadledger_domain::spend::Spend;
use leadledger_domain::{Cut, Event, LeadState, Stage};
use leadledger_projection::spend::latest;
use sqlx::PgPool;

use super::{for_each_lead, Captured};
use crate::spend::Turnover;
use crate::timeline::decode;
use crate::StoreError;

const SPEND: &str = include_str!("sql/spend.sql");

/// [`crate::spend::overlapping`] at `cut`: of the statements it admits, the latest per
/// channel, campaign and period, in `currency`, with days in `[from, to)`.
pub async fn overlapping(
    pool: &PgPool,
    tenant: &str,
    cut: &Cut,
    currency: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Spend>, StoreError> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(SPEND)
        .bind(tenant)
        .bind(cut.as_of)
        .bind(cut.known_at)
        .fetch_all(pool)
        .await?;
    let events = rows
        .iter()
        .map(|(event_type, raw)| decode(raw, event_type))
        .collect::<Result<Vec<Event>, _>>()?;
    Ok(latest(&events)
        .into_iter()
        .map(|row| row.spend)
        .filter(|s| s.currency == currency && s.period_start < to && s.period_end >= from)
        .collect())
}

/// [`crate::spend::turnover`] at `cut`: per channel (or campaign), the leads captured in
/// `[from, to)` and signed in `currency`, folded from the events the cut admits.
pub async fn turnover(
    pool: &PgPool,
    tenant: &str,
    cut: &Cut,
    by_campaign: bool,
    currency: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Turnover>, StoreError> {
    let mut micros: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let add = |_: &str, st: LeadState, _: &[Event]| {
        let (Some(captured), Some(signed)) = (st.captured_at, st.entered(Stage::Signed)) else {
            return;
        };
        if st.max_rank < 5 || st.signed_currency != currency || captured < from || captured >= to {
            return;
        }
        let value = if by_campaign {
            st.source.campaign.clone()
        } else {
            st.source.channel.clone()
        };
        let us = (signed - captured).num_microseconds().unwrap_or(i64::MAX);
        micros.entry(value).or_default().push(us);
    };
    let captured = Captured {
        only: true,
        before: Some(to),
    };
    for_each_lead(pool, tenant, cut, captured, add).await?;
    Ok(micros
        .into_iter()
        .map(|(value, mut us)| {
            us.sort_unstable();
            // As spend_turnover.sql: seconds as float8, nearest rank.
            let secs = |p| nearest_rank(&us, p).map_or(0.0, |u| u as f64 / 1e6);
            Turnover {
                value,
                p50_seconds: secs(0.5),
                p90_seconds: secs(0.9),
                won: us.len() as i64,
            }
        })
        .collect())
}
