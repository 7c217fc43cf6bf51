//! The pre-aggregated funnel (`funnel_cells`), moved by "new − old" inside the projection
//! transaction.
//!
//! Aggregating `leads` is a scan of every lead of the tenant: at 1M leads that is hundreds of
//! milliseconds per funnel query. The cells hold the same counts per (capture day, channel,
//! campaign, region, industry, segment, signed currency), so a quarter's funnel reads tens of
//! thousands of small rows instead. Each re-folded lead takes its old contribution out of its
//! old cell and puts its new one in its new cell; sums commute, so any batching (live or a
//! replay) gives the same cells.
//!
//! Cells are updated in key order so two projector instances (different partitions, same
//! cells) always lock rows in the same order and cannot deadlock.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use leadledger_domain::LeadState;
use sqlx::{Postgres, Transaction};

use crate::StoreError;

/// The cell key, in primary-key order after the tenant.
type Key = (NaiveDate, String, String, String, String, String, String);

/// What one lead contributes to its cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeadCell {
    pub tenant: String,
    pub key: Key,
    pub max_rank: i16,
    pub amount: i64,
}

/// The day leads not captured yet sit on: no capture can have it (the earliest accepted
/// business time is 2000-01-01).
pub const NOT_CAPTURED: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => unreachable!(),
};

/// UTC day of a capture.
fn day(captured_at: Option<DateTime<Utc>>) -> NaiveDate {
    captured_at.map_or(NOT_CAPTURED, |t| t.date_naive())
}

impl LeadCell {
    pub(crate) fn of_state(tenant: &str, st: &LeadState) -> LeadCell {
        let signed = st.max_rank >= 5;
        LeadCell {
            tenant: tenant.to_string(),
            key: (
                day(st.captured_at),
                st.source.channel.clone(),
                st.source.campaign.clone(),
                st.company.region.clone(),
                st.company.industry.clone(),
                st.company.segment.as_str().to_string(),
                if signed {
                    st.signed_currency.clone()
                } else {
                    String::new()
                },
            ),
            max_rank: i16::from(st.max_rank),
            amount: if signed { st.signed_amount_minor } else { 0 },
        }
    }
}

/// Recomputes every cell from `leads` (the migration's backfill; for tools that load `leads`
/// without the projection).
pub async fn rebuild(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM funnel_cells")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO funnel_cells \
         SELECT tenant_id, coalesce((captured_at AT TIME ZONE 'UTC')::date, DATE '1970-01-01'), \
           channel, campaign, region, industry, segment, \
           CASE WHEN max_rank >= 5 THEN signed_currency ELSE '' END, \
           count(*), count(*) FILTER (WHERE max_rank >= 2), count(*) FILTER (WHERE max_rank >= 3), \
           count(*) FILTER (WHERE max_rank >= 4), count(*) FILTER (WHERE max_rank >= 5), \
           coalesce(sum(signed_amount_minor) FILTER (WHERE max_rank >= 5), 0) \
         FROM leads GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves the cells from the `old` contributions to the `new` ones.
pub(crate) async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    old: &[LeadCell],
    new: &[LeadCell],
) -> Result<(), StoreError> {
    // (tenant, key) → [captured, mql, sql, poc, signed, amount]
    let mut delta: BTreeMap<(&str, &Key), [i64; 6]> = BTreeMap::new();
    for (cells, sign) in [(old, -1), (new, 1)] {
        for c in cells {
            let d = delta.entry((c.tenant.as_str(), &c.key)).or_default();
            for (rank, slot) in (1..=5).zip(d.iter_mut()) {
                if rank == 1 || c.max_rank >= rank {
                    *slot += sign;
                }
            }
            d[5] += sign * c.amount;
        }
    }
    delta.retain(|_, d| d.iter().any(|x| *x != 0));
    if delta.is_empty() {
        return Ok(());
    }
    let n = delta.len();
    let mut cols: (Vec<&str>, Vec<NaiveDate>, [Vec<&str>; 6]) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Default::default(),
    );
    let mut counts: [Vec<i64>; 6] = Default::default();
    for ((tenant, key), d) in &delta {
        cols.0.push(tenant);
        cols.1.push(key.0);
        for (v, col) in [&key.1, &key.2, &key.3, &key.4, &key.5, &key.6]
            .into_iter()
            .zip(cols.2.iter_mut())
        {
            col.push(v.as_str());
        }
        for (x, col) in d.iter().zip(counts.iter_mut()) {
            col.push(*x);
        }
    }
    let emptied: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO funnel_cells AS f \
         SELECT t, dy, ch, ca, re, ind, seg, cur, c, m, s, p, w, a \
         FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], \
           $7::text[], $8::text[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], \
           $13::int8[], $14::int8[]) WITH ORDINALITY \
           AS d(t, dy, ch, ca, re, ind, seg, cur, c, m, s, p, w, a, ord) \
         ORDER BY ord \
         ON CONFLICT (tenant_id, capture_day, channel, campaign, region, industry, segment, \
           currency) DO UPDATE SET \
           captured = f.captured + EXCLUDED.captured, mql = f.mql + EXCLUDED.mql, \
           sql = f.sql + EXCLUDED.sql, poc = f.poc + EXCLUDED.poc, \
           signed = f.signed + EXCLUDED.signed, \
           signed_amount_minor = f.signed_amount_minor + EXCLUDED.signed_amount_minor \
         RETURNING f.captured",
    )
    .bind(&cols.0)
    .bind(&cols.1)
    .bind(&cols.2[0])
    .bind(&cols.2[1])
    .bind(&cols.2[2])
    .bind(&cols.2[3])
    .bind(&cols.2[4])
    .bind(&cols.2[5])
    .bind(&counts[0])
    .bind(&counts[1])
    .bind(&counts[2])
    .bind(&counts[3])
    .bind(&counts[4])
    .bind(&counts[5])
    .fetch_all(&mut **tx)
    .await?;
    // `captured` counts every lead of a cell: zero means the cell is empty. Deleting empty
    // cells keeps the table equal, row for row, to the aggregate of `leads`; most batches
    // empty none and skip the statement.
    if emptied.contains(&0) {
        sqlx::query("DELETE FROM funnel_cells WHERE captured = 0 AND tenant_id = ANY($1)")
            .bind(&cols.0)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
